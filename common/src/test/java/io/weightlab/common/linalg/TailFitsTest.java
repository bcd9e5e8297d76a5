package io.weightlab.common.linalg;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.testing.Python;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * TPL / E_TPL, the finger fixes and detX (docs/algorithms.md §7.6) against plfit_reference.py: the same seeded samples
 * fitted there from the published formulas with scipy (Nelder–Mead to convergence, Γ(s, x) through scipy's hyperu),
 * mpmath for ln Γ(s, x), numpy for the histogram and detX. Tolerances: ln Γ 1e-10 (relative above 1); TPL α 1e-6
 * relative; Λ 1e-5 relative where interior (the likelihood is flat along Λ: 1e-5 of Λ moves the mean log-likelihood
 * by ~1e-12, where both optimisers stop), and Λ·1000·x_min &lt; 1e-6 for both where the MLE sits on Λ = 0; D 1e-6; the PL scan, the xmin_peak range and detX 1e-12 (same arithmetic).
 */
public class TailFitsTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static JsonNode ref;
    static Map<String, double[]> samples = new java.util.HashMap<>();

    @BeforeAll
    static void reference(@TempDir Path tmp) throws IOException {
        Python.require("numpy", "scipy", "mpmath");
        Python.script(Python.testScript("plfit_reference.py"), "make", tmp.toString());
        ref = JSON.readTree(tmp.resolve("ref.json").toFile());
        for (String c : new String[] {"tpl", "pareto", "fingers", "gauss"}) {
            samples.put(c, RandomMatrixTest.read(tmp.resolve(c + ".bin"), ref.get("sizes").get(c).asInt()));
        }
    }

    @Test
    void upperGammaMatchesMpmath() {
        for (JsonNode g : ref.get("gamma")) {
            double s = g.get("s").asDouble(), x = g.get("x").asDouble();
            assertEquals(g.get("log").asDouble(), UpperGamma.log(s, x), 1e-10 * Math.max(1, Math.abs(g.get("log").asDouble())), "ln Γ(" + s + ", " + x + ")");
        }
    }

    @Test
    void truncatedPowerLawMatchesScipy() {
        sameTpl(ref.get("tpl_full"), TruncatedPowerLawFit.fit(samples.get("tpl")), "truncated Pareto, full scan");
        sameTpl(ref.get("pareto_tpl"), TruncatedPowerLawFit.fit(samples.get("pareto")), "Pareto, full scan");
        double[] tpl = samples.get("tpl");
        TruncatedPowerLawFit at = TruncatedPowerLawFit.atXmin(tpl, tpl[0]);
        JsonNode r = ref.get("tpl_at_min");
        assertEquals(r.get("alpha").asDouble(), at.alpha(), 1e-6 * r.get("alpha").asDouble());
        assertEquals(r.get("lambda").asDouble(), at.lambda(), 1e-5 * r.get("lambda").asDouble());
        assertEquals(r.get("D").asDouble(), at.d(), 1e-6);
    }

    @Test
    void truncatedPowerLawRecoversPlantedParameters() {
        // 20000 draws of p(x) ∝ x^-1.8 e^-0.1x on x ≥ 1 (powerlaw's rejection sampler); statistical, not numerical, tolerance
        SplittableRandom rng = new SplittableRandom(7);
        double[] x = new double[20000];
        for (int i = 0; i < x.length; ) {
            double v = 1 - Math.log(1 - rng.nextDouble()) / 0.1;
            if (rng.nextDouble() < Math.pow(v, -1.8)) x[i++] = v;
        }
        TruncatedPowerLawFit f = TruncatedPowerLawFit.atXmin(x, 1);
        assertEquals(1.8, f.alpha(), 0.05, "α");
        assertEquals(0.1, f.lambda(), 0.01, "Λ");
        assertTrue(f.inRange() && f.d() < 0.02, "D " + f.d());
    }

    @Test
    void fingersSpoilPlainPlAndBothFixesMatchTheReference() {
        double[] x = samples.get("fingers");
        PowerLawFit raw = PowerLawFit.fit(x);
        samePl(ref.get("fingers_pl"), raw, "plain");
        assertTrue(raw.alpha() > 10 && raw.numSpikes() == 8, "plain PL fits the 8 fingers alone: α " + raw.alpha());

        double[] range = FingerFixes.xminPeakRange(x, Double.NaN, Double.NaN);
        JsonNode peak = ref.get("fingers_peak");
        assertEquals(peak.get("peak").asDouble(), range[2], 1e-12 * range[2], "peak");
        assertEquals(peak.get("lo").asDouble(), range[0], 1e-12);
        assertEquals(peak.get("hi").asDouble(), range[1], 1e-12 * range[1]);
        PowerLawFit atPeak = PowerLawFit.fit(x, range[0], range[1]);
        samePl(peak.get("pl"), atPeak, "xmin_peak");
        assertEquals(2.5, atPeak.alpha(), 0.4, "xmin_peak: back near the planted α = 2.5 (the fingers stay in the tail)");

        FingerFixes.Clipped c = FingerFixes.clipXmax(x, Double.NaN, Double.NaN);
        JsonNode clip = ref.get("fingers_clip");
        samePl(clip.get("pl"), c.fit(), "clip_xmax");
        assertEquals(clip.get("num_fingers").asInt(), c.numFingers());
        assertEquals(raw.alpha(), c.rawAlpha(), 0);
        assertEquals(2.5, c.fit().alpha(), 0.4, "clip_xmax: back near the planted α = 2.5");

        TailFits etpl = TailFits.of(x, PowerLawOptions.parse("E_TPL", "none", null, null, false));
        sameTpl(ref.get("fingers_etpl"), etpl.tpl(), "E_TPL");
    }

    @Test
    void detXMatchesNumpy() {
        DetX oracle = DetX.of(new double[] {8, 0.5, 2, 1, 4});
        assertEquals(4, oracle.num(), "rmt-privacy.md A oracle 5");
        assertEquals(1.0, oracle.value(), 0);
        assertEquals(0.32258, oracle.rescaled(), 1e-5);
        JsonNode r = ref.get("gauss_detx");
        double[] g = samples.get("gauss");
        DetX d = DetX.of(g);
        assertEquals(r.get("num").asInt(), d.num());
        assertEquals(r.get("value").asDouble(), d.value(), 1e-12 * d.value());
        assertEquals(r.get("rescaled").asDouble(), d.rescaled(), 1e-12);
        PowerLawFit at = PowerLawFit.atXmin(g, d.value());
        assertEquals(r.get("alpha").asDouble(), at.alpha(), 1e-12 * at.alpha());
        assertEquals(r.get("D").asDouble(), at.d(), 1e-12);
        assertEquals(d.num(), at.numSpikes());
    }

    @Test
    void optionsRejectUnknownValuesWithASuggestion() {
        UsageException e = assertThrows(UsageException.class, () -> PowerLawOptions.parse("ETPL", "none", null, null, false));
        assertTrue(e.getMessage().contains("E_TPL") && !e.getMessage().contains("\n"), e.getMessage());
        e = assertThrows(UsageException.class, () -> PowerLawOptions.parse("PL", "xmin-peak", null, null, false));
        assertTrue(e.getMessage().contains("did you mean") || e.getMessage().contains("xmin_peak"), e.getMessage());
        assertThrows(UsageException.class, () -> PowerLawOptions.parse("TPL", "clip_xmax", null, null, false));
        assertThrows(UsageException.class, () -> PowerLawOptions.parse("PL", "none", 2.0, 1.0, false));
        assertTrue(PowerLawOptions.parse("PL", "none", null, null, false).isDefault());
        assertFalse(PowerLawOptions.parse("PL", "none", null, null, true).isDefault());
    }

    @Test
    void defaultOptionsAddNoColumns() {
        double[] sv = new double[60];
        for (int i = 0; i < sv.length; i++) sv[i] = Math.pow(i + 1.0, -0.7);
        java.util.Collections.reverse(java.util.Arrays.asList(sv));
        Map<String, Object> plain = SpectralMetrics.of(sv, 80, true), viaDefault = SpectralMetrics.of(sv, 80, PowerLawOptions.DEFAULT);
        assertEquals(plain, viaDefault);
        assertFalse(plain.containsKey("fit"));
        Map<String, Object> tpl = SpectralMetrics.of(sv, 80, PowerLawOptions.parse("TPL", "none", null, null, true));
        for (String k : new String[] {"fit", "fix_fingers", "num_fingers", "raw_alpha", "tpl_alpha", "tpl_lambda", "tpl_xmin", "tpl_D",
                "tpl_num_spikes", "tpl_status", "detx_num", "detx_val", "alpha_detx", "D_detx"}) assertTrue(tpl.containsKey(k), k);
        assertEquals(plain.get("alpha"), tpl.get("alpha"), "with TPL the PL columns stay the plain fit");
    }

    static void sameTpl(JsonNode r, TruncatedPowerLawFit f, String what) {
        assertEquals(r.get("xmin").asDouble(), f.xmin(), 0, what + " xmin");
        assertEquals(r.get("n").asInt(), f.numSpikes(), what + " tail");
        assertEquals(r.get("alpha").asDouble(), f.alpha(), 1e-6 * r.get("alpha").asDouble(), what + " α");
        double rl = r.get("lambda").asDouble(), top = r.get("xmin").asDouble() * 1e3;
        if (rl * top < 1e-6) assertTrue(f.lambda() * top < 1e-6, what + " Λ on the boundary: " + f.lambda());
        else assertEquals(rl, f.lambda(), 1e-5 * rl, what + " Λ");
        assertEquals(r.get("D").asDouble(), f.d(), 1e-6, what + " D");
    }

    static void samePl(JsonNode r, PowerLawFit f, String what) {
        assertEquals(r.get("xmin").asDouble(), f.xmin(), 0, what + " xmin");
        assertEquals(r.get("alpha").asDouble(), f.alpha(), 1e-12 * f.alpha(), what + " α");
        assertEquals(r.get("D").asDouble(), f.d(), 1e-12, what + " D");
    }
}
