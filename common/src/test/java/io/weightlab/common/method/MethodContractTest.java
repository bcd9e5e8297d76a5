package io.weightlab.common.method;

import io.weightlab.common.error.UsageException;
import io.weightlab.common.fed.AggregatorRegistry;
import io.weightlab.common.fed.LoraAggregatorRegistry;
import io.weightlab.common.fed.ServerOptimizerRegistry;
import io.weightlab.common.fed.TrimmedMean;
import io.weightlab.common.lora.LoraRegistry;
import io.weightlab.common.transform.MethodRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The one method contract (docs/methods.md) holds for all five kinds: a misspelled parameter or method name is an
 * error with "did you mean", a value outside the declared range names the range, and --list-methods (generated
 * from the declarations) lists every registered method with every parameter.
 */
class MethodContractTest {

    static String error(Executable e) {
        return assertThrows(UsageException.class, e).getMessage();
    }

    @Test
    void aMisspelledParameterIsAnErrorWithASuggestionForEveryKind() {
        String m = error(() -> AggregatorRegistry.create("trimmed-mean", Map.of("betta", "0.4")));
        assertTrue(m.contains("unknown parameter 'betta'") && m.contains("did you mean 'beta'"), m);
        m = error(() -> MethodRegistry.create("tvr:target_sdt=0.02", f -> null));
        assertTrue(m.contains("unknown parameter 'target_sdt'") && m.contains("did you mean 'target_std'"), m);
        m = error(() -> LoraRegistry.create("lora_ga", Map.of("stable_gama", "8")));
        assertTrue(m.contains("did you mean 'stable_gamma'"), m);
        m = error(() -> ServerOptimizerRegistry.create("fedadam", Map.of("beta_1", "0.8")));
        assertTrue(m.contains("unknown parameter 'beta_1'") && m.contains("beta1"), m);
        m = error(() -> LoraAggregatorRegistry.create("svd", new MethodParams("svd", Map.of("rnak", "4"), f -> null)));
        assertTrue(m.contains("did you mean 'rank'"), m);
        m = error(() -> AggregatorRegistry.create("median", Map.of("beta", "0.1")));
        assertTrue(m.contains("it takes no parameters"), m);
    }

    @Test
    void valuesOutsideTheDeclaredRangeAndUnknownMethodsAreRefused() {
        String m = error(() -> AggregatorRegistry.create("trimmed-mean", Map.of("beta", "0.7")));
        assertTrue(m.contains("beta=0.7 is outside [0, 0.5)"), m);
        m = error(() -> MethodRegistry.create("tvr:target_std=-1", f -> null));
        assertTrue(m.contains("target_std=-1 is outside (0, ∞)"), m);
        m = error(() -> LoraRegistry.create("pissa", Map.of("svd", "lapack")));
        assertTrue(m.contains("svd=lapack is not one of gram, gesdd"), m);
        m = error(() -> ServerOptimizerRegistry.create("fedadma", Map.of()));
        assertTrue(m.contains("unknown server optimizer 'fedadma'") && m.contains("did you mean 'fedadam'"), m);
        m = error(() -> MethodRegistry.create("kaiming_normall", f -> null));
        assertTrue(m.contains("did you mean 'kaiming_normal'"), m);
        m = error(() -> LoraRegistry.create("pissa_niter_4", Map.of("niter", "2")));
        assertTrue(m.contains("unknown parameter 'niter'"), m);
    }

    @Test
    void aGivenValueReachesTheMethodAndDefaultsAreTheDeclaredOnes() {
        assertEquals(0.3, ((TrimmedMean) AggregatorRegistry.create("trimmed-mean", Map.of("beta", "0.3"))).beta(), 0.0);
        assertEquals(Double.parseDouble(AggregatorRegistry.catalog().info("trimmed-mean").param("beta").defaultValue()),
                ((TrimmedMean) AggregatorRegistry.create("trimmed-mean", Map.of())).beta(), 0.0, "the declared default is the one used");
        // the inline spelling and the old --method-param spelling give the same parameters
        Map.Entry<String, Map<String, String>> spec = MethodCatalog.parseSpec("trimmed-mean:beta=0.1");
        assertEquals("trimmed-mean", spec.getKey());
        assertEquals(Map.of("beta", "0.1"), spec.getValue());
    }

    @Test
    void listingsAreGeneratedFromTheDeclarations() {
        for (MethodCatalog<?> c : List.of(MethodRegistry.catalog(), LoraRegistry.catalog(), AggregatorRegistry.catalog(),
                LoraAggregatorRegistry.catalog(), ServerOptimizerRegistry.catalog(), io.weightlab.common.vocab.VocabInitRegistry.catalog())) {
            String listing = c.listing();
            for (String name : c.names()) {
                assertTrue(listing.contains("\n" + name + "\n") || listing.startsWith(name + "\n") || listing.contains("\n" + name + " (also"), name);
                for (Param p : c.info(name).params()) assertTrue(listing.contains("    " + p.name() + ":") || listing.contains("    " + p.name() + " ="), name + " " + p.name());
            }
        }
        assertTrue(AggregatorRegistry.catalog().listing().contains("beta: number [0, 0.5), default 0.2"), AggregatorRegistry.catalog().listing());
        assertTrue(MethodRegistry.catalog().listing().contains("kaiming_normal\n    normal with {std=kaiming}"), MethodRegistry.catalog().listing());
    }
}
