package io.weightlab.jobs.analysis;

import io.weightlab.common.error.UsageException;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Which checkpoint of a fleet is compared against which (docs/fleet.md, Fleet compare). A series is the checkpoints
 * of one model label in step order (checkpoints without a step after the others, in input order); when no checkpoint
 * of the fleet has a step, the whole fleet is one series in input order (a zoo: the first input is the base).
 * {@code first}: every checkpoint of a series against the series' first; {@code previous}: against its predecessor
 * in the series; {@code FILE}: every checkpoint against that one. The reference itself gets no rows.
 */
final class FleetComparePlan {
    enum Kind { FIRST, PREVIOUS, FILE }

    /** The value of {@code --against}: a keyword, or the URI of a fixed reference checkpoint. */
    record Against(Kind kind, String uri) {
        static Against parse(String value) {
            if (value == null || value.isBlank()) throw new UsageException("--against needs first, previous or a checkpoint URI");
            return switch (value) {
                case "first" -> new Against(Kind.FIRST, null);
                case "previous" -> new Against(Kind.PREVIOUS, null);
                default -> new Against(Kind.FILE, value);
            };
        }

        /** As the user wrote it, for messages and the run record. */
        String label() {
            return kind == Kind.FILE ? uri : kind.name().toLowerCase(Locale.ROOT);
        }
    }

    /** Checkpoint {@code checkpoint} compared against {@code reference}; {@code index} is its position in the plan. */
    record Comparison(int index, FleetRun.Opened checkpoint, FleetRun.Opened reference) {}

    private FleetComparePlan() {}

    /**
     * The comparisons of {@code checkpoints} (opened, without duplicates, in input order); {@code fixed} is the
     * opened FILE reference (else null). Refuses a plan with nothing to compare.
     */
    static List<Comparison> plan(List<FleetRun.Opened> checkpoints, Against against, FleetRun.Opened fixed) {
        List<Comparison> out = new ArrayList<>();
        if (against.kind() == Kind.FILE) {
            for (FleetRun.Opened c : checkpoints) {
                if (!c.id().key().equals(fixed.id().key())) out.add(new Comparison(out.size(), c, fixed));
            }
            if (out.isEmpty()) throw new UsageException("--against " + against.uri() + ": the fleet holds no checkpoint other than the reference itself");
            return out;
        }
        if (checkpoints.size() < 2) {
            throw new UsageException("--against " + against.label() + " needs at least two checkpoints, got " + checkpoints.size()
                    + (checkpoints.isEmpty() ? "" : " (" + checkpoints.get(0).spec().uri() + ")"));
        }
        for (List<FleetRun.Opened> s : series(checkpoints)) {
            for (int i = 1; i < s.size(); i++) out.add(new Comparison(out.size(), s.get(i), against.kind() == Kind.FIRST ? s.get(0) : s.get(i - 1)));
        }
        if (out.isEmpty()) {
            throw new UsageException("--against " + against.label() + ": every model label has one checkpoint, so no series to compare within "
                    + "(labels and steps: docs/fleet.md; give model: in --inputs, or --against FILE)");
        }
        return out;
    }

    /** The series of a fleet, each in its order; series in order of their first checkpoint among the inputs. */
    static List<List<FleetRun.Opened>> series(List<FleetRun.Opened> checkpoints) {
        if (checkpoints.stream().allMatch(c -> c.spec().step() == null)) return List.of(checkpoints);
        Map<String, List<FleetRun.Opened>> byModel = new LinkedHashMap<>();
        for (FleetRun.Opened c : checkpoints) byModel.computeIfAbsent(c.spec().model(), k -> new ArrayList<>()).add(c);
        List<List<FleetRun.Opened>> out = new ArrayList<>();
        for (List<FleetRun.Opened> s : byModel.values()) {
            List<FleetRun.Opened> sorted = new ArrayList<>(s); // a stable sort: equal steps and no steps keep input order
            sorted.sort(Comparator.comparing((FleetRun.Opened c) -> c.spec().step(), Comparator.nullsLast(Comparator.naturalOrder())));
            out.add(sorted);
        }
        return out;
    }
}
