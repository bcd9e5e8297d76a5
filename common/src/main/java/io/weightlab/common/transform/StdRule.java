package io.weightlab.common.transform;

import io.weightlab.common.method.MethodParams;
import io.weightlab.common.error.UsageException;

import java.util.Locale;

/**
 * The standard deviation an initialiser targets, per tensor: a number, or a rule from the layout —
 * kaiming (gain/√fan_in, gain √2 by default as torch's kaiming_* with a=0), kaiming_fan_out, xavier
 * (gain·√(2/(fan_in+fan_out))), lecun (1/√fan_in), lir (initializer_range/√(l·scale_factor) inside block l,
 * initializer_range outside), gpt2 (initializer_range/√(2·n_layer) on residual output projections).
 */
public final class StdRule {
    private final String rule;
    private final double value;
    private final double gain;
    private final double initializerRange;
    private final double scaleFactor;

    private StdRule(String rule, double value, double gain, double initializerRange, double scaleFactor) {
        this.rule = rule;
        this.value = value;
        this.gain = gain;
        this.initializerRange = initializerRange;
        this.scaleFactor = scaleFactor;
    }

    /** Reads {@code std} (default {@code dflt}), {@code gain}, {@code initializer_range}, {@code scale_factor}. */
    public static StdRule from(MethodParams p, String dflt) {
        String s = p.string("std", dflt).toLowerCase(Locale.ROOT);
        double ir = p.positive("initializer_range", 0.02);
        double sf = p.positive("scale_factor", 1.0);
        double value = Double.NaN;
        switch (s) {
            case "kaiming", "kaiming_fan_out", "xavier", "lecun", "lir", "gpt2" -> { }
            default -> {
                try {
                    value = Double.parseDouble(s);
                } catch (NumberFormatException e) {
                    throw new UsageException(p.method() + ": std=" + s + " is neither a number nor one of kaiming, kaiming_fan_out, xavier, lecun, lir, gpt2");
                }
                if (!(value >= 0) || Double.isInfinite(value)) throw new UsageException(p.method() + ": std must be >= 0, got " + s);
                s = "value";
            }
        }
        double gain = p.positive("gain", s.startsWith("kaiming") ? Math.sqrt(2.0) : 1.0);
        return new StdRule(s, value, gain, ir, sf);
    }

    public double std(TensorContext c) {
        return switch (rule) {
            case "value" -> value;
            case "kaiming" -> gain / Math.sqrt(c.fanIn());
            case "kaiming_fan_out" -> gain / Math.sqrt(c.fanOut());
            case "xavier" -> gain * Math.sqrt(2.0 / (c.fanIn() + c.fanOut()));
            case "lecun" -> gain / Math.sqrt(c.fanIn());
            case "lir" -> c.depth() == null ? initializerRange : initializerRange / Math.sqrt(c.depth() * scaleFactor);
            case "gpt2" -> c.isResidualOutput() ? initializerRange / Math.sqrt(2.0 * Math.max(1, c.numLayers())) : initializerRange;
            default -> throw new IllegalStateException(rule);
        };
    }

    public String describe() {
        return rule.equals("value") ? Samplers.fmt("%s", value) : rule;
    }
}
