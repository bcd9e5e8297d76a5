package io.weightlab.jobs.cli;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.weightlab.common.commit.StagedOutput;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.report.AnalysisReport;
import io.weightlab.common.stats.StatsRow;
import io.weightlab.common.stats.TensorHistogram;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "report", mixinStandardHelpOptions = true,
        description = {"One HTML report from the outputs of `stats` and/or `spectrum` (no Spark, no checkpoint reads):",
                "distributions, fits and histogram from stats; spectra, alpha and stable rank from spectrum; anomalies from both."})
public class ReportCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Option(names = "--stats", description = "output directory of a stats run")
    String stats;

    @Option(names = "--spectrum", description = "output directory of a spectrum run")
    String spectrum;

    @Option(names = {"-o", "--out"}, required = true, description = "directory for report.html")
    String out;

    @Option(names = "--overwrite", description = "replace a committed report")
    boolean overwrite;

    @Override
    @SuppressWarnings("unchecked")
    public Integer call() throws IOException {
        if (stats == null && spectrum == null) throw new UsageException("give --stats and/or --spectrum");
        Configuration conf = new Configuration();
        Map<String, Object> run = new LinkedHashMap<>();
        List<StatsRow> tensors = null, rollups = null;
        TensorHistogram hist = null;
        if (stats != null) {
            Map<String, Object> doc = read(conf, stats, "stats.json", new TypeReference<>() {});
            run.putAll((Map<String, Object>) doc.get("run"));
            tensors = new ArrayList<>();
            rollups = new ArrayList<>();
            Map<String, StatsRow> byName = new LinkedHashMap<>();
            for (Map<String, Object> m : (List<Map<String, Object>>) doc.get("rows")) {
                StatsRow r = StatsRow.fromMap(m);
                (r.level().equals("tensor") ? tensors : rollups).add(r);
                if (r.level().equals("tensor")) byName.put(r.name(), r);
            }
            Map<String, Object> h = (Map<String, Object>) doc.get("histogram");
            if (h != null) {
                List<Number> e = (List<Number>) h.get("edges"), c = (List<Number>) h.get("counts");
                StatsRow r = byName.get((String) h.get("tensor"));
                hist = new TensorHistogram((String) h.get("tensor"), e.stream().mapToDouble(Number::doubleValue).toArray(),
                        c.stream().mapToLong(Number::longValue).toArray(), r == null ? null : r.gg(), r == null ? Double.NaN : r.std());
            }
        }
        List<Map<String, Object>> matrices = null;
        Map<String, double[]> svs = null;
        if (spectrum != null) {
            Map<String, Object> doc = read(conf, spectrum, "spectrum.json", new TypeReference<>() {});
            matrices = (List<Map<String, Object>>) doc.get("matrices");
            run.putIfAbsent("input", doc.get("input"));
            run.put("matrices", matrices.size());
            svs = read(conf, spectrum, io.weightlab.jobs.analysis.SpectrumJob.SINGULAR_VALUES, new TypeReference<Map<String, double[]>>() {});
        }
        run.put("job", stats != null && spectrum != null ? "stats + spectrum" : stats != null ? "stats" : "spectrum");
        StagedOutput so = StagedOutput.begin(conf, out, overwrite);
        try {
            try (FSDataOutputStream os = so.create("report.html")) {
                os.write(AnalysisReport.render(run, tensors, rollups, hist, matrices, svs).getBytes(StandardCharsets.UTF_8));
            }
            so.commit();
        } catch (IOException | RuntimeException e) {
            so.abort();
            throw e;
        }
        System.out.println("report: " + so.finalPath("report.html"));
        return 0;
    }

    private static <T> T read(Configuration conf, String dir, String file, TypeReference<T> type) throws IOException {
        Path p = new Path(dir, file);
        FileSystem fs = p.getFileSystem(conf);
        if (!fs.exists(new Path(dir, StagedOutput.SUCCESS))) throw new UsageException(dir + ": no committed result (_SUCCESS missing)");
        if (!fs.exists(p)) throw new UsageException(dir + ": no " + file + " (is it the output of the right job?)");
        try (FSDataInputStream in = fs.open(p)) {
            return JSON.readValue(in, type);
        }
    }
}
