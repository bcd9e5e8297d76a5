package io.weightlab.common.fed;

import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.io.CheckpointCatalog;
import io.weightlab.common.error.UsageException;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static io.weightlab.common.fed.FedClientFiles.manifest;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** LoRA-adapter clients of fed_clients.py: scalings from the config (alpha / r, rsLoRA alpha / √r) and the module rules. */
class AdapterClientsTest {
    static final Configuration CONF = new Configuration();
    static final String Q = "base_model.model.q";

    static final AdapterClients.AdapterReader READER = new AdapterClients.AdapterReader() {
        @Override
        public byte[] config(String uri) throws IOException {
            return Files.readAllBytes(Path.of(uri, "adapter_config.json"));
        }

        @Override
        public Checkpoint weights(String uri) {
            return CheckpointCatalog.open(CONF, uri + "/adapter_model.safetensors");
        }
    };

    @Test
    void scalingsFromTheConfig() {
        ClientValidation v = new ClientValidation(manifest(false, "lora0", "lora1"), ClientValidationTest.DROP);
        AdapterClients a = AdapterClients.open(READER, true, v);
        assertTrue(v.problems().isEmpty(), v.problems().toString());
        assertEquals(List.of(Q), a.modules());
        assertEquals(2.0, a.byClient().get("lora0").get(Q).scaling(), 0, "alpha 4 / r 2");
        assertEquals(4 / Math.sqrt(2), a.byClient().get("lora1").get(Q).scaling(), 1e-15, "rsLoRA: alpha 4 / sqrt(r 2)");
        assertEquals(3, a.byClient().get("lora0").get(Q).a().dim(1));
    }

    @Test
    void configRankSameShapesAndUnreadable() {
        ClientValidation v = new ClientValidation(manifest(false, "lora0", "lora_rank", "lora_wide", "missing"), ClientValidationTest.DROP);
        AdapterClients a = AdapterClients.open(READER, true, v);
        assertEquals(List.of("lora0"), List.copyOf(a.byClient().keySet()));
        assertTrue(v.problems().get("lora_rank").endsWith("'" + Q + "' has rank 2 but its config says 8 (rule: ConfigRank)"), v.problems().toString());
        assertEquals("'" + Q + "' is [4 x 5], the first client's [4 x 3] (rule: SameShapes)", v.problems().get("lora_wide"));
        assertTrue(v.problems().get("missing").startsWith("unreadable adapter: "), v.problems().toString());
    }

    @Test
    void noReadableAdapterIsAnError() {
        ClientValidation v = new ClientValidation(manifest(false, "missing", "good0"), ClientValidationTest.DROP);
        UsageException e = assertThrows(UsageException.class, () -> AdapterClients.open(READER, true, v));
        assertTrue(e.getMessage().contains("no readable client adapter"), e.getMessage());
    }
}
