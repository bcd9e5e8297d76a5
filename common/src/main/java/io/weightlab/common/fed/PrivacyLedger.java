package io.weightlab.common.fed;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.weightlab.common.error.UsageException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The privacy spent so far by a chain of DP rounds, carried between rounds in {@code server_state/privacy.json}: one
 * row per round (round, q, z, τ, K, ε after it) and the RDP segments they compose to (rounds with the same q and z
 * merged into one segment of that many steps), and with adaptive clipping the clip norm of the next round. ε is
 * recomputed from the segments for any δ.
 */
public record PrivacyLedger(List<Map<String, Object>> rounds, List<RdpAccountant.Segment> segments, Double clipNext) {
    public static final String FILE = "privacy.json";

    public static PrivacyLedger empty() { return new PrivacyLedger(List.of(), List.of(), null); }

    /** The ledger with one more step of the sampled Gaussian (q, z), segments merged by (q, z). */
    public PrivacyLedger plusStep(double q, double z) {
        List<RdpAccountant.Segment> s = new ArrayList<>();
        boolean merged = false;
        for (RdpAccountant.Segment x : segments) {
            if (!merged && x.q() == q && x.sigma() == z) {
                s.add(new RdpAccountant.Segment(q, z, x.steps() + 1));
                merged = true;
            } else {
                s.add(x);
            }
        }
        if (!merged) s.add(new RdpAccountant.Segment(q, z, 1));
        return new PrivacyLedger(rounds, List.copyOf(s), clipNext);
    }

    public PrivacyLedger plusRound(Map<String, Object> row) {
        List<Map<String, Object>> r = new ArrayList<>(rounds);
        r.add(row);
        return new PrivacyLedger(List.copyOf(r), segments, clipNext);
    }

    public PrivacyLedger withClipNext(Double c) { return new PrivacyLedger(rounds, segments, c); }

    public long steps() { return segments.stream().mapToLong(RdpAccountant.Segment::steps).sum(); }

    public RdpAccountant.Spent epsilon(double delta) { return RdpAccountant.epsilon(segments, delta); }

    public String json(double delta) {
        RdpAccountant.Spent e = epsilon(delta);
        Map<String, Object> j = new LinkedHashMap<>();
        j.put("mechanism", "gaussian");
        j.put("accountant", "rdp");
        j.put("delta", delta);
        j.put("epsilon", e.epsilon());
        j.put("rdp_order", e.order());
        j.put("steps", steps());
        List<Map<String, Object>> seg = new ArrayList<>();
        for (RdpAccountant.Segment s : segments) seg.add(Map.of("q", s.q(), "noise_multiplier", s.sigma(), "steps", s.steps()));
        j.put("segments", seg);
        if (clipNext != null) j.put("clip_next", clipNext);
        j.put("rounds", rounds);
        try {
            return new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(j);
        } catch (IOException e2) {
            throw new UncheckedIOException(e2);
        }
    }

    @SuppressWarnings("unchecked")
    public static PrivacyLedger parse(String source, String text) {
        JsonNode j;
        try {
            j = new ObjectMapper().readTree(text);
        } catch (IOException e) {
            throw new UsageException(source + ": not valid JSON: " + e.getMessage());
        }
        if (!"gaussian".equals(j.path("mechanism").asText()) || !j.path("segments").isArray()) {
            throw new UsageException(source + ": not a Gaussian-mechanism privacy ledger (rule: PrivacyLedgerFormat)");
        }
        List<RdpAccountant.Segment> s = new ArrayList<>();
        for (JsonNode x : j.get("segments")) {
            try {
                s.add(new RdpAccountant.Segment(x.path("q").asDouble(Double.NaN), x.path("noise_multiplier").asDouble(Double.NaN), x.path("steps").asLong(-1)));
            } catch (UsageException e) {
                throw new UsageException(source + ": a segment: " + e.getMessage() + " (rule: PrivacyLedgerFormat)");
            }
        }
        List<Map<String, Object>> r = new ArrayList<>();
        for (JsonNode x : j.path("rounds")) r.add(new ObjectMapper().convertValue(x, LinkedHashMap.class));
        return new PrivacyLedger(List.copyOf(r), List.copyOf(s), j.has("clip_next") ? j.get("clip_next").asDouble() : null);
    }
}
