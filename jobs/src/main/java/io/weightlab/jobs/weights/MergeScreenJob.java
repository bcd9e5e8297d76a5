package io.weightlab.jobs.weights;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.weightlab.common.commit.StagedOutput;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.merge.ScreenGrid;
import io.weightlab.common.merge.ScreenMetrics;
import io.weightlab.common.merge.ScreenRanking;
import io.weightlab.common.model.DType;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.report.ScreenReport;
import io.weightlab.common.report.Tables;
import io.weightlab.jobs.spark.CheckpointSiblings;
import io.weightlab.jobs.spark.JobRun;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.spark.SparkContext;

import java.io.IOException;
import java.io.PrintStream;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code weightlab merge --screen GRID.yaml}: many candidate recipes evaluated in one Spark job without writing
 * weights (issue 19). The driver expands the grid ({@link ScreenGrid}) and plans every candidate ({@link ScreenPlan});
 * the measuring passes of all candidates run together and a final pass merges every candidate slice by slice from one
 * read of the inputs, measuring the merged tensors ({@link ScreenPasses}, {@link ScreenMetrics}); the candidates are
 * ranked ({@link ScreenRanking}) and written as one table and page; {@code --write-top K} writes the best K as full
 * merges through {@code merge}'s own write path, under {@code top/<rank>-<name>/} of the same staged output.
 */
public final class MergeScreenJob {
    public static final String SCREEN = "screen.json";
    public static final String TENSORS = "screen_tensors";
    public static final String CANDIDATES = "screen_candidates.csv";
    private static final String WHAT = "where the screen's table (and the top candidates) go";

    public record Options(String grid, String out, boolean overwrite, long seed, DType outDType, long maxShardBytes, long memoryBudget,
                          int writeTop, String rankBy, long spectraMaxBytes, boolean spectraAlpha) implements Serializable {}

    private MergeScreenJob() {}

    /** The grid file (any Hadoop file system) parsed into candidates. */
    static List<ScreenGrid.Candidate> readGrid(org.apache.hadoop.conf.Configuration conf, String uri) {
        byte[] bytes = CheckpointSiblings.readSmall(conf, uri);
        JsonNode root;
        try {
            root = new ObjectMapper(new YAMLFactory()).readTree(new String(bytes, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UsageException(uri + ": not valid YAML: " + e.getMessage().split("\n", 2)[0]);
        }
        return ScreenGrid.parse(root, uri);
    }

    public static Map<String, Object> run(SparkContext sc, Options o, PrintStream console) {
        JobRun.checkOut(o.out(), JobRun.Output.REQUIRED, WHAT);
        ScreenRanking.Score score = ScreenRanking.Score.parse(o.rankBy());
        if (score == ScreenRanking.Score.ALPHA_OUT_OF_RANGE && !o.spectraAlpha()) {
            throw new UsageException("--rank-by alpha_out_of_range needs --spectra-alpha (the merged matrices' α)");
        }
        if (o.spectraAlpha() && o.spectraMaxBytes() <= 0) throw new UsageException("--spectra-alpha needs a --spectra-max-mb limit above 0");
        if (o.writeTop() < 0) throw new UsageException("--write-top " + o.writeTop() + ": a count of candidates, 0 or more");
        try (JobRun run = JobRun.start("merge", sc, console)) {
            List<ScreenGrid.Candidate> candidates = readGrid(run.hadoop(), o.grid());
            if (o.writeTop() > candidates.size()) {
                throw new UsageException("--write-top " + o.writeTop() + ": " + o.grid() + " has " + candidates.size() + " candidate(s)");
            }
            ScreenPlan plan = new ScreenPlan(run, candidates, o.seed(), o.memoryBudget(), o.spectraMaxBytes(), o.spectraAlpha(), o.grid());
            long spectra = plan.tensors.keySet().stream().filter(plan::spectrum).count();
            console.printf("[merge] screen %s: %d candidate(s) over %d model(s) onto %s, %d floating tensor(s), %d layer(s)%s%n", o.grid(), candidates.size(),
                    plan.models(), plan.sources.get(0), plan.tensors.size(), plan.layers, spectra > 0 ? ", " + spectra + " matrices with Δ's spectrum" + (o.spectraAlpha() ? " and the merged α" : "") : "");
            StagedOutput staged = run.output(o.out(), JobRun.Output.REQUIRED, WHAT, o.overwrite());
            ScreenPasses passes = new ScreenPasses(run, plan);
            passes.measure();
            long tMeasured = System.nanoTime();
            ScreenPasses.Screened screened = passes.screen();
            long tScreened = System.nanoTime();
            return run.commitAfter("the merge screen", () -> {
                List<ScreenRanking.Totals> totals = new ArrayList<>();
                List<Map<String, Object>> tensorRows = new ArrayList<>();
                for (int c = 0; c < plan.candidates(); c++) {
                    ScreenRanking.Totals tot = new ScreenRanking.Totals(plan.models());
                    for (String t : plan.tensors.keySet()) tot.add(screened.metrics().get(t)[c], screened.sources().get(t));
                    totals.add(tot);
                }
                List<Integer> order = ScreenRanking.order(totals, score);
                int[] rankOf = new int[order.size()];
                for (int r = 0; r < order.size(); r++) rankOf[order.get(r)] = r + 1;
                for (int c = 0; c < plan.candidates(); c++) {
                    for (String t : plan.tensors.keySet()) {
                        TensorInfo ti = plan.tensors.get(t)[0];
                        Map<String, Object> row = new LinkedHashMap<>();
                        row.put("candidate", plan.names.get(c));
                        row.put("rank", rankOf[c]);
                        row.put("method", plan.methods.get(c));
                        row.put("name", t);
                        row.put("shape", ti.shapeList());
                        row.put("elements", ti.elementCount());
                        row.putAll(screened.metrics().get(t)[c].row(screened.sources().get(t)));
                        tensorRows.add(row);
                    }
                }
                List<Map<String, Object>> ranked = new ArrayList<>();
                List<String> top = new ArrayList<>();
                for (int r = 0; r < order.size(); r++) {
                    int c = order.get(r);
                    Map<String, Object> row = new LinkedHashMap<>();
                    row.put("rank", r + 1);
                    row.put("name", plan.names.get(c));
                    row.put("method", plan.methods.get(c));
                    row.put("score", finite(totals.get(c).score(score)));
                    row.putAll(totals.get(c).summary());
                    String dir = r < o.writeTop() ? "top/" + (r + 1) + "-" + plan.names.get(c) + "/" : null;
                    row.put("top_dir", dir);
                    if (dir != null) top.add(dir);
                    ranked.add(row);
                }
                Map<String, Object> facts = run.facts();
                facts.put("screen", o.grid());
                facts.put("candidates", plan.candidates());
                facts.put("base_model", plan.sources.get(0));
                facts.put("models", plan.sources.subList(1, plan.sources.size()));
                facts.put("seed", o.seed());
                facts.put("rank_by", score.id);
                facts.put("tensors", plan.tensors.size());
                facts.put("spectra_max_mb", o.spectraMaxBytes() / (double) (1 << 20));
                facts.put("spectra_matrices", spectra);
                facts.put("energy_threshold", ScreenMetrics.ENERGY);
                facts.put("spectra_alpha", o.spectraAlpha());
                List<Map<String, Object>> passRows = new ArrayList<>();
                long reads = 0;
                for (ScreenPasses.PassReads p : passes.reads) {
                    passRows.add(Map.of("kind", p.kind(), "input_reads", p.reads(), "input_values", p.values()));
                    reads += p.reads();
                }
                facts.put("passes", passRows.size());
                facts.put("pass_reads", passRows);
                facts.put("input_reads", reads);
                facts.put("tie_broken_cuts", passes.partialCuts);
                facts.put("seconds_measure", run.secondsAt(tMeasured));
                facts.put("seconds_screen", run.secondsAt(tScreened));
                facts.put("write_top", top);

                writeTables(staged, tensorRows, ranked);
                for (int r = 0; r < o.writeTop(); r++) writeTop(run, staged, candidates.get(order.get(r)), top.get(r), o);
                facts.put("seconds", run.seconds());
                List<Map<String, Object>> cands = new ArrayList<>();
                for (Map<String, Object> row : ranked) {
                    Map<String, Object> c = new LinkedHashMap<>(row);
                    c.put("recipe", candidates.get(plan.names.indexOf((String) row.get("name"))).tree());
                    cands.add(c);
                }
                try (FSDataOutputStream os = staged.create(SCREEN)) {
                    Tables.writeJson(os, Map.of("run", facts, "candidates", cands));
                }
                staged.writeString("report.html", ScreenReport.render(facts, ranked));
                console.printf("[merge] screened %d candidate(s) in %d pass(es), %d input read(s); best by %s: %s%n", plan.candidates(), passRows.size(), reads,
                        score.id, ranked.get(0).get("name"));
                return facts;
            });
        }
    }

    private static Double finite(double v) {
        return Double.isFinite(v) ? v : null;
    }

    private static void writeTables(StagedOutput staged, List<Map<String, Object>> tensorRows, List<Map<String, Object>> ranked) throws IOException {
        try (FSDataOutputStream os = staged.create(TENSORS + ".csv")) {
            Tables.writeCsv(os, tensorRows);
        }
        // one JSON document per line: the list columns stay lists for pandas.read_json(lines=True)
        var line = Tables.json().writer().without(com.fasterxml.jackson.databind.SerializationFeature.INDENT_OUTPUT);
        try (FSDataOutputStream os = staged.create(TENSORS + ".jsonl")) {
            for (Map<String, Object> r : tensorRows) {
                os.write(line.writeValueAsBytes(Tables.jsonSafe(r)));
                os.write('\n');
            }
        }
        try (FSDataOutputStream os = staged.create(CANDIDATES)) {
            Tables.writeCsv(os, ranked);
        }
    }

    /** One of the best K as a full merge, through merge's planning, passes and writer, plus the recipe that reproduces it. */
    private static void writeTop(JobRun run, StagedOutput staged, ScreenGrid.Candidate c, String dir, Options o) throws IOException {
        MergeJob.Planned p = MergeJob.plan(run, c.recipe(), o.seed(), o.outDType(), o.memoryBudget());
        MergeJob.measure(p);
        MergeJob.write(run, staged, p, dir, o.maxShardBytes(), run.facts());
        staged.writeString(dir + "recipe.yaml", new ObjectMapper(new YAMLFactory()).writeValueAsString(c.tree()));
    }
}
