package io.weightlab.common.linalg;

import java.util.Map;

/**
 * The tail fits one {@link PowerLawOptions} asks for (docs/algorithms.md §7.6). With {@code --fit PL} the finger fix
 * and x_min bounds shape the PL fit (the {@code alpha} … columns); with TPL/E_TPL they shape the TPL fit and the PL
 * columns stay the plain fit, for comparison.
 */
public record TailFits(PowerLawOptions options, PowerLawFit pl, int numFingers, double rawAlpha, TruncatedPowerLawFit tpl,
                       DetX detx, PowerLawFit plAtDetx) {

    public static TailFits of(double[] evals, PowerLawOptions o) {
        double lo = o.xminMin(), hi = o.xminMax();
        if (o.effectiveFingers().equals("xmin_peak")) {
            double[] r = FingerFixes.xminPeakRange(evals, lo, hi);
            lo = r[0];
            hi = r[1];
        }
        PowerLawFit pl;
        int fingers = 0;
        double raw = Double.NaN;
        TruncatedPowerLawFit tpl = null;
        if (o.truncated()) {
            pl = PowerLawFit.fit(evals);
            tpl = TruncatedPowerLawFit.fit(evals, Double.isNaN(lo) ? Double.NEGATIVE_INFINITY : lo, Double.isNaN(hi) ? Double.POSITIVE_INFINITY : hi);
        } else if (o.effectiveFingers().equals("clip_xmax")) {
            FingerFixes.Clipped c = FingerFixes.clipXmax(evals, lo, hi);
            pl = c.fit();
            fingers = c.numFingers();
            raw = c.rawAlpha();
        } else {
            pl = PowerLawFit.fitBounded(evals, lo, hi);
        }
        DetX d = o.detx() ? DetX.of(evals) : null;
        PowerLawFit atDetx = d == null ? null : PowerLawFit.atXmin(evals, d.value());
        return new TailFits(o, pl, fingers, raw, tpl, d, atDetx);
    }

    /** The columns beyond the plain fit's (docs/schema.md). */
    void putColumns(Map<String, Object> m) {
        m.put("fit", options.fit());
        m.put("fix_fingers", options.effectiveFingers());
        m.put("num_fingers", numFingers);
        m.put("raw_alpha", rawAlpha);
        if (tpl != null) {
            m.put("tpl_alpha", tpl.alpha());
            m.put("tpl_lambda", tpl.lambda());
            m.put("tpl_xmin", tpl.xmin());
            m.put("tpl_D", tpl.d());
            m.put("tpl_num_spikes", tpl.numSpikes());
            m.put("tpl_status", Double.isNaN(tpl.lambda()) ? "fit failed" : tpl.inRange() ? "ok" : "out of range (alpha <= 1 or lambda <= 0)");
        }
        if (detx != null) {
            m.put("detx_num", detx.num());
            m.put("detx_val", detx.value());
            m.put("alpha_detx", plAtDetx.alpha());
            m.put("D_detx", plAtDetx.d());
        }
    }
}
