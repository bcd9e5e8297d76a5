package io.weightlab.common.fed;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.model.TensorInfo;

import java.io.IOException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * The LoRA-adapter clients of a round (PEFT directories), headers and configs only: each client's modules (keys
 * {@code base_model.model.<m>.lora_A/B.weight}) with the scaling its config gives each, checked against the first
 * client that parses (rules PlainLoraKeys, CompleteModule, ConfigRank, SameModules, SameShapes). Clients that cannot
 * take part are recorded in the validation.
 */
public record AdapterClients(List<String> modules, Map<String, Map<String, ClientModule>> byClient, Map<String, Checkpoint> checkpoints,
                             Map<String, JsonNode> configs) {
    /** One client's module: the two tensors and the scaling its config gives. */
    public record ClientModule(TensorInfo a, TensorInfo b, double scaling) implements Serializable {}

    /** Reads a client's adapter: its config bytes and its opened weights, both from the client's directory uri. */
    public interface AdapterReader {
        byte[] config(String uri) throws IOException;

        Checkpoint weights(String uri);
    }

    /** Opens every manifest client's adapter (rule PositiveExamples first when weighting by examples) and parses its modules. */
    public static AdapterClients open(AdapterReader reader, boolean weightsByExamples, ClientValidation validation) {
        RoundManifest manifest = validation.manifest();
        Map<String, Checkpoint> ckpts = new LinkedHashMap<>();
        Map<String, JsonNode> configs = new LinkedHashMap<>();
        for (ClientSpec c : manifest.clients()) {
            if (!validation.hasPositiveExamples(c, weightsByExamples)) continue;
            try {
                configs.put(c.id(), new ObjectMapper().readTree(reader.config(c.uri())));
                ckpts.put(c.id(), reader.weights(c.uri()));
            } catch (RuntimeException | IOException e) {
                validation.reject(c.id(), "unreadable adapter: " + e.getMessage());
                configs.remove(c.id());
            }
        }
        if (ckpts.isEmpty()) throw new UsageException(manifest.source() + ": no readable client adapter:" + RoundManifest.problemList(validation.problems()));
        // The first client whose modules parse is the template.
        Map<String, Map<String, ClientModule>> byClient = new LinkedHashMap<>();
        List<String> modules = null;
        for (Map.Entry<String, Checkpoint> e : ckpts.entrySet()) {
            try {
                Map<String, ClientModule> ms = modules(e.getValue(), configs.get(e.getKey()));
                if (modules == null) {
                    modules = new ArrayList<>(ms.keySet());
                } else {
                    String why = mismatch(modules, byClient.values().iterator().next(), ms);
                    if (why != null) throw new UsageException(why);
                }
                byClient.put(e.getKey(), ms);
            } catch (UsageException ex) {
                validation.reject(e.getKey(), ex.getMessage());
            }
        }
        return new AdapterClients(modules, byClient, ckpts, configs);
    }

    /** A client's modules, sorted by name, with the scaling its config gives each (alpha / r, or alpha / √r with rsLoRA). */
    public static Map<String, ClientModule> modules(Checkpoint c, JsonNode cfg) {
        if (!"LORA".equals(cfg.path("peft_type").asText())) throw new UsageException(c.root() + ": adapter_config.json is not a LoRA config (peft_type)");
        Map<String, ClientModule> out = new TreeMap<>();
        for (TensorInfo t : c.tensors()) {
            String n = t.name();
            if (n.endsWith(".lora_B.weight")) continue;
            if (!n.endsWith(".lora_A.weight")) throw new UsageException(c.root() + ": '" + n + "' is not a lora_A/lora_B weight (rule: PlainLoraKeys)");
            String m = n.substring(0, n.length() - ".lora_A.weight".length());
            TensorInfo b = c.tensor(m + ".lora_B.weight");
            if (b == null || t.rank() != 2 || b.rank() != 2 || t.dim(0) != b.dim(1)) throw new UsageException(c.root() + ": '" + m + "' has no matching lora_B (rule: CompleteModule)");
            int r = (int) t.dim(0);
            String shortName = m.startsWith("base_model.model.") ? m.substring("base_model.model.".length()) : m;
            double alpha = pattern(cfg.path("alpha_pattern"), shortName, cfg.path("lora_alpha").asDouble(Double.NaN));
            int rc = (int) pattern(cfg.path("rank_pattern"), shortName, cfg.path("r").asDouble(Double.NaN));
            if (rc != r) throw new UsageException(c.root() + ": '" + m + "' has rank " + r + " but its config says " + rc + " (rule: ConfigRank)");
            double s = cfg.path("use_rslora").asBoolean(false) ? alpha / Math.sqrt(r) : alpha / r;
            out.put(m, new ClientModule(t, b, s));
        }
        if (out.isEmpty()) throw new UsageException(c.root() + ": no LoRA modules");
        return out;
    }

    /** PEFT's rank_pattern / alpha_pattern lookup: the first key matching the module name's tail, else the default. */
    private static double pattern(JsonNode pat, String module, double dflt) {
        for (Iterator<Map.Entry<String, JsonNode>> it = pat.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (Pattern.compile("(.*\\.)?(" + e.getKey() + ")$").matcher(module).matches()) return e.getValue().asDouble();
        }
        return dflt;
    }

    /** Why a client's modules differ from the template's (rules SameModules, SameShapes), or null. */
    static String mismatch(List<String> modules, Map<String, ClientModule> template, Map<String, ClientModule> ms) {
        if (!ms.keySet().equals(new TreeSet<>(modules))) return "targets different modules than the first client (rule: SameModules)";
        for (String m : modules) {
            ClientModule a = template.get(m), b = ms.get(m);
            if (a.a().dim(1) != b.a().dim(1) || a.b().dim(0) != b.b().dim(0)) {
                return "'" + m + "' is [" + b.b().dim(0) + " x " + b.a().dim(1) + "], the first client's [" + a.b().dim(0) + " x " + a.a().dim(1) + "] (rule: SameShapes)";
            }
        }
        return null;
    }
}
