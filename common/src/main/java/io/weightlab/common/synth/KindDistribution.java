package io.weightlab.common.synth;

import io.weightlab.common.error.UsageException;
import io.weightlab.common.model.ModuleKind;

import java.io.Serializable;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;

/**
 * The generalized Gaussian each module kind is drawn from: shape β, std at the first layer, location (1 for norm
 * weights), and how std grows with depth: std_l = std·(1 + depthSlope·l/(L−1)). The defaults are in the range
 * measured on released LLaMA-family checkpoints: attention Q/K heavier-tailed (β ≈ 1.2–1.4) than V/O and the MLP
 * (β ≈ 1.6–2), embeddings and heads near 1.6–1.8.
 */
public final class KindDistribution implements Serializable {
    public record Gg(double beta, double std, double location) implements Serializable {}

    private final Map<ModuleKind, Gg> byKind = new EnumMap<>(ModuleKind.class);
    private final double depthSlope;

    public KindDistribution(Map<ModuleKind, Gg> overrides, double depthSlope) {
        byKind.put(ModuleKind.EMBEDDING, new Gg(1.6, 0.015, 0));
        byKind.put(ModuleKind.LM_HEAD, new Gg(1.8, 0.02, 0));
        byKind.put(ModuleKind.ATTN_Q, new Gg(1.3, 0.025, 0));
        byKind.put(ModuleKind.ATTN_K, new Gg(1.2, 0.03, 0));
        byKind.put(ModuleKind.ATTN_V, new Gg(1.9, 0.01, 0));
        byKind.put(ModuleKind.ATTN_O, new Gg(1.7, 0.01, 0));
        byKind.put(ModuleKind.MLP_GATE, new Gg(1.8, 0.02, 0));
        byKind.put(ModuleKind.MLP_UP, new Gg(1.95, 0.015, 0));
        byKind.put(ModuleKind.MLP_DOWN, new Gg(1.6, 0.015, 0));
        byKind.put(ModuleKind.ROUTER, new Gg(2.0, 0.02, 0));
        byKind.put(ModuleKind.NORM, new Gg(2.0, 0.05, 1.0));
        byKind.put(ModuleKind.OTHER, new Gg(2.0, 0.01, 0)); // biases
        if (overrides != null) byKind.putAll(overrides);
        if (!(depthSlope > -1)) throw new UsageException("--depth-slope must be > -1 (std must stay positive), got " + depthSlope);
        this.depthSlope = depthSlope;
    }

    /** KIND=BETA:STD[:LOCATION], KIND as in the stats report (attn_q, mlp_down, norm, embedding, ...). */
    public static Map.Entry<ModuleKind, Gg> parse(String spec) {
        int eq = spec.indexOf('=');
        String[] v = eq < 0 ? new String[0] : spec.substring(eq + 1).split(":");
        if (eq < 0 || v.length < 2 || v.length > 3) throw new UsageException("--kind " + spec + ": expected KIND=BETA:STD[:LOCATION], e.g. attn_q=1.3:0.02");
        ModuleKind kind;
        try {
            kind = ModuleKind.valueOf(spec.substring(0, eq).trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new UsageException("--kind " + spec + ": unknown module kind (attn_q, attn_k, attn_v, attn_o, mlp_gate, mlp_up, mlp_down, router, embedding, lm_head, norm, other)");
        }
        try {
            Gg g = new Gg(Double.parseDouble(v[0]), Double.parseDouble(v[1]), v.length > 2 ? Double.parseDouble(v[2]) : 0);
            if (!(g.beta() > 0.1 && g.beta() <= 100) || !(g.std() >= 0) || !Double.isFinite(g.location())) {
                throw new UsageException("--kind " + spec + ": beta must be in (0.1, 100], std >= 0, location finite");
            }
            return Map.entry(kind, g);
        } catch (NumberFormatException e) {
            throw new UsageException("--kind " + spec + ": not numbers");
        }
    }

    /** The distribution of a tensor of this kind in layer {@code layer} of {@code layers} (layer −1: outside the stack). */
    public Gg of(ModuleKind kind, int layer, int layers) {
        Gg g = byKind.getOrDefault(kind, byKind.get(ModuleKind.OTHER));
        if (layer < 0 || layers < 2) return g;
        return new Gg(g.beta(), g.std() * (1 + depthSlope * layer / (double) (layers - 1)), g.location());
    }

    public Map<ModuleKind, Gg> table() { return Map.copyOf(byKind); }

    public double depthSlope() { return depthSlope; }
}
