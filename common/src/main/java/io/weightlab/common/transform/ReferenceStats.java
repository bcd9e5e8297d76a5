package io.weightlab.common.transform;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.model.TensorName;
import io.weightlab.common.stats.StatsRow;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Another checkpoint's {@code stats.json} (from {@code weightlab stats}), as a source of targets: a tensor's std
 * by name, else by (layer, module kind) — so one model can take another's per-layer variance profile — and the
 * median fitted GG shape β per module kind (the "GG prior").
 */
public final class ReferenceStats {
    private final String source;
    private final Map<String, StatsRow> byName = new HashMap<>();
    private final Map<String, List<StatsRow>> byLayerKind = new HashMap<>();
    private final Map<String, List<Double>> betaByKind = new HashMap<>();

    private ReferenceStats(String source) {
        this.source = source;
    }

    public static ReferenceStats parse(String source, byte[] json) {
        Map<String, Object> doc;
        try {
            doc = new ObjectMapper().readValue(json, new TypeReference<Map<String, Object>>() {});
        } catch (IOException e) {
            throw new UsageException(source + ": not a stats.json (" + e.getMessage() + ")");
        }
        if (!(doc.get("rows") instanceof List<?> rows)) throw new UsageException(source + ": not a stats.json (no \"rows\" array)");
        ReferenceStats r = new ReferenceStats(source);
        for (Object o : rows) {
            if (!(o instanceof Map<?, ?> m)) continue;
            @SuppressWarnings("unchecked") StatsRow row = StatsRow.fromMap((Map<String, Object>) m);
            if (!"tensor".equals(row.level())) continue;
            r.byName.put(row.name(), row);
            TensorName n = TensorName.parse(row.name());
            r.byLayerKind.computeIfAbsent(layerKind(n), k -> new ArrayList<>()).add(row);
            double beta = row.gg() == null ? Double.NaN : row.gg().beta();
            if (Double.isFinite(beta) && n.isAnalysable() && n.param() != TensorName.Param.BIAS) {
                r.betaByKind.computeIfAbsent(n.kind().label(), k -> new ArrayList<>()).add(beta);
            }
        }
        if (r.byName.isEmpty()) throw new UsageException(source + ": holds no tensor rows");
        return r;
    }

    private static String layerKind(TensorName n) {
        return n.layerKey() + "\u0000" + n.kind().label() + "\u0000" + n.param();
    }

    /** The sample std (ddof=1) of the same tensor, else the RMS of those with the same layer and module kind. */
    public double std(TensorName n) {
        StatsRow same = byName.get(n.name());
        if (same != null && Double.isFinite(same.stdSample())) return same.stdSample();
        List<StatsRow> like = byLayerKind.get(layerKind(n));
        if (like != null) {
            double s = 0;
            int k = 0;
            for (StatsRow r : like) if (Double.isFinite(r.stdSample())) { s += r.stdSample() * r.stdSample(); k++; }
            if (k > 0) return Math.sqrt(s / k);
        }
        throw new UsageException(source + ": no tensor named '" + n.name() + "' and none in " + n.layerKey()
                + " of kind " + n.kind().label() + ": cannot take its target std");
    }

    /** The median fitted β over the reference's tensors of this module kind. */
    public double beta(TensorName n) {
        List<Double> b = betaByKind.get(n.kind().label());
        if (b == null || b.isEmpty()) {
            throw new UsageException(source + ": no fitted gg_beta for module kind " + n.kind().label()
                    + " (needed by '" + n.name() + "'; run stats with the GG fit on)");
        }
        List<Double> sorted = new ArrayList<>(b);
        sorted.sort(Double::compare);
        int k = sorted.size();
        return k % 2 == 1 ? sorted.get(k / 2) : 0.5 * (sorted.get(k / 2 - 1) + sorted.get(k / 2));
    }

    public String source() { return source; }
}
