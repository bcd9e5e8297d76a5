package io.weightlab.jobs.cli;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.weightlab.common.commit.StagedOutput;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.report.AnalysisReport;
import io.weightlab.common.report.BeforeAfterReport;
import io.weightlab.common.report.CompareReport;
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
        description = {"One interactive, offline HTML report from the outputs of `stats` and/or `spectrum` (no Spark, no checkpoint reads):",
                "heatmaps, metrics by layer, histogram and tensor table from stats; alpha, ESD gallery and matrix table from spectrum;",
                "anomalies from both. Give --stats (and/or --spectrum) twice for a before/after page of two runs, or --compare alone",
                "for a compare run's page, --fedavg alone for a federated round's page, --merge alone for a merge's page, or --fleet",
                "alone for the page of fleet datasets of stats, spectrum and/or compare (trends across checkpoints, what stands out, runs)",
                "(docs/algorithms.md §31)."})
public class ReportCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Option(names = "--stats", description = "output directory of a stats run; twice for before/after")
    List<String> statsDirs;

    @Option(names = "--spectrum", description = "output directory of a spectrum run; twice for before/after")
    List<String> spectrumDirs;

    @Option(names = "--compare", description = "output directory of a compare run (a page of its own)")
    String compareDir;

    @Option(names = "--fedavg", description = "output directory of a fedavg round (a page of its own: clients, tensors, privacy spent)")
    String fedavgDir;

    @Option(names = "--merge", description = "output directory of a merge (a page of its own: each model's parameters, task-vector norms and kept fractions, every tensor)")
    String mergeDir;

    @Option(names = "--fleet", description = "a fleet dataset of stats, spectrum or compare (a page of its own: trends across its checkpoints, what stands out, "
            + "every checkpoint and run); repeat it to put the datasets of two or three of those jobs on one page")
    List<String> fleetDirs;

    @Option(names = "--label", description = "names of the two runs of a before/after page (default: the directories' names)")
    List<String> labels;

    @Option(names = {"-o", "--out"}, required = true, description = "directory for report.html")
    String out;

    @Option(names = "--overwrite", description = "replace a committed report")
    boolean overwrite;

    /**
     * The Hadoop configuration a Spark job of this launch would have ({@code spark.hadoop.*} of spark-submit and
     * spark-defaults.conf, S3 credentials from the environment), so a page reads and writes where the jobs did.
     */
    private static Configuration hadoopConf() {
        return io.weightlab.jobs.spark.SparkSupport.hadoopConf(null, null);
    }

    /** The page of one to three fleet datasets, each of another job (stats, spectrum, compare). */
    private int fleet(Configuration conf) throws IOException {
        List<io.weightlab.common.report.FleetReport.Dataset> datasets = new ArrayList<>();
        Map<String, String> byJob = new LinkedHashMap<>();
        for (String dir : fleetDirs) {
            io.weightlab.common.report.FleetReport.Dataset d = io.weightlab.jobs.analysis.FleetDatasetReader.read(conf, dir);
            String other = byJob.put(d.job(), dir);
            if (other != null) throw new UsageException("--fleet: " + other + " and " + dir + " are both " + d.job() + " datasets; one page takes one of each job");
            datasets.add(d);
        }
        return write(conf, io.weightlab.common.report.FleetReport.render(datasets));
    }

    @Override
    @SuppressWarnings("unchecked")
    public Integer call() throws IOException {
        if (fleetDirs != null) {
            if (mergeDir != null || fedavgDir != null || compareDir != null || statsDirs != null || spectrumDirs != null || labels != null) {
                throw new UsageException("--fleet makes a page of its own: give it alone (or with other --fleet datasets)");
            }
            return fleet(hadoopConf());
        }
        if (mergeDir != null) {
            if (fedavgDir != null || compareDir != null || statsDirs != null || spectrumDirs != null || labels != null) throw new UsageException("--merge makes a page of its own: give it alone");
            return merge(hadoopConf());
        }
        if (fedavgDir != null) {
            if (compareDir != null || statsDirs != null || spectrumDirs != null || labels != null) throw new UsageException("--fedavg makes a page of its own: give it alone");
            return fedavg(hadoopConf());
        }
        if (compareDir != null) {
            if (statsDirs != null || spectrumDirs != null || labels != null) throw new UsageException("--compare makes a page of its own: give it alone");
            return compare(hadoopConf());
        }
        if (statsDirs == null && spectrumDirs == null) throw new UsageException("give --stats and/or --spectrum (or --compare, --fedavg, --merge or --fleet)");
        int ns = statsDirs == null ? 0 : statsDirs.size(), np = spectrumDirs == null ? 0 : spectrumDirs.size();
        if (ns > 2 || np > 2) throw new UsageException("--stats and --spectrum: at most two runs each (before and after)");
        if (ns == 2 || np == 2) {
            if ((ns == 1) || (np == 1)) throw new UsageException("before/after: give two --stats, two --spectrum, or two of each");
            return beforeAfter(hadoopConf());
        }
        if (labels != null) throw new UsageException("--label is for a before/after page (two --stats or two --spectrum)");
        String stats = ns == 0 ? null : statsDirs.get(0), spectrum = np == 0 ? null : spectrumDirs.get(0);
        Configuration conf = hadoopConf();
        Map<String, Object> run = new LinkedHashMap<>();
        List<StatsRow> tensors = null, rollups = null;
        TensorHistogram hist = null;
        List<TensorHistogram> histograms = null;
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
            histograms = histograms(conf, stats, byName);
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
        return write(conf, AnalysisReport.render(run, tensors, rollups, hist, histograms, matrices, svs));
    }

    @SuppressWarnings("unchecked")
    private Integer beforeAfter(Configuration conf) throws IOException {
        List<String> dirs = statsDirs != null ? statsDirs : spectrumDirs;
        List<String> names = labels;
        if (names == null) names = dirs.stream().map(d -> new Path(d).getName()).toList();
        if (names.size() != 2) throw new UsageException("--label: give two names (before, after), got " + names.size());
        if (names.get(0).equals(names.get(1))) names = List.of(names.get(0) + " (1)", names.get(1) + " (2)");
        List<Map<String, Object>> runs = List.of(new LinkedHashMap<>(), new LinkedHashMap<>());
        List<List<StatsRow>> stats = null;
        if (statsDirs != null) {
            stats = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                Map<String, Object> doc = read(conf, statsDirs.get(i), "stats.json", new TypeReference<>() {});
                runs.get(i).putAll((Map<String, Object>) doc.get("run"));
                List<StatsRow> rows = new ArrayList<>();
                for (Map<String, Object> m : (List<Map<String, Object>>) doc.get("rows")) {
                    StatsRow r = StatsRow.fromMap(m);
                    if (r.level().equals("tensor")) rows.add(r);
                }
                stats.add(rows);
            }
        }
        List<List<Map<String, Object>>> spectra = null;
        if (spectrumDirs != null) {
            spectra = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                Map<String, Object> doc = read(conf, spectrumDirs.get(i), "spectrum.json", new TypeReference<>() {});
                List<Map<String, Object>> matrices = (List<Map<String, Object>>) doc.get("matrices");
                runs.get(i).putIfAbsent("input", doc.get("input"));
                runs.get(i).put("matrices", matrices.size());
                spectra.add(matrices);
            }
        }
        return write(conf, BeforeAfterReport.render(names, runs, stats, spectra));
    }

    @SuppressWarnings("unchecked")
    private Integer compare(Configuration conf) throws IOException {
        Map<String, Object> doc = read(conf, compareDir, "compare.json", new TypeReference<>() {});
        return write(conf, CompareReport.render((Map<String, Object>) doc.get("run"), (List<Map<String, Object>>) doc.get("layers"),
                (List<Map<String, Object>>) doc.get("tensors"), (List<Map<String, Object>>) doc.get("not_compared")));
    }

    @SuppressWarnings("unchecked")
    private Integer fedavg(Configuration conf) throws IOException {
        Map<String, Object> doc = read(conf, fedavgDir, io.weightlab.jobs.federated.FedAvgJob.REPORT, new TypeReference<>() {});
        Path ledger = new Path(new Path(fedavgDir, io.weightlab.jobs.federated.FedAvgJob.STATE), io.weightlab.common.fed.PrivacyLedger.FILE);
        List<Map<String, Object>> rounds = null;
        FileSystem fs = ledger.getFileSystem(conf);
        if (fs.exists(ledger)) {
            try (FSDataInputStream in = fs.open(ledger)) {
                rounds = io.weightlab.common.report.FedRoundReport.rows(JSON.readValue((java.io.InputStream) in, Map.class).get("rounds"));
            }
        }
        return write(conf, io.weightlab.common.report.FedRoundReport.render(doc, rounds));
    }

    @SuppressWarnings("unchecked")
    private Integer merge(Configuration conf) throws IOException {
        Map<String, Object> doc = read(conf, mergeDir, io.weightlab.jobs.weights.MergeJob.PROVENANCE, new TypeReference<>() {});
        Map<String, Object> run = (Map<String, Object>) doc.getOrDefault("run", Map.of());
        // other weight-writing jobs write a provenance file of the same name: say so rather than draw an empty page
        if (!"merge".equals(run.get("job"))) throw new UsageException(mergeDir + ": " + io.weightlab.jobs.weights.MergeJob.PROVENANCE + " is from '" + run.get("job") + "', not a merge");
        return write(conf, io.weightlab.common.report.MergeReport.render(run, (List<Map<String, Object>>) doc.getOrDefault("tensors", List.of())));
    }

    private Integer write(Configuration conf, String html) throws IOException {
        StagedOutput so = StagedOutput.begin(conf, out, overwrite);
        try {
            try (FSDataOutputStream os = so.create("report.html")) {
                os.write(html.getBytes(StandardCharsets.UTF_8));
            }
            so.commit();
        } catch (IOException | RuntimeException e) {
            so.abort();
            throw e;
        }
        System.out.println("report: " + so.finalPath("report.html"));
        return 0;
    }

    /** Every tensor's histogram from a stats output's histograms.json, with its row's fit; null for outputs older than that file. */
    @SuppressWarnings("unchecked")
    private static List<TensorHistogram> histograms(Configuration conf, String dir, Map<String, StatsRow> byName) throws IOException {
        Path p = new Path(dir, io.weightlab.jobs.analysis.StatsJob.HISTOGRAMS);
        if (!p.getFileSystem(conf).exists(p)) return null;
        Map<String, Object> doc = read(conf, dir, io.weightlab.jobs.analysis.StatsJob.HISTOGRAMS, new TypeReference<>() {});
        List<TensorHistogram> out = new ArrayList<>();
        for (Map<String, Object> h : (List<Map<String, Object>>) doc.get("tensors")) {
            StatsRow r = byName.get((String) h.get("tensor"));
            out.add(new TensorHistogram((String) h.get("tensor"), ((List<Number>) h.get("edges")).stream().mapToDouble(Number::doubleValue).toArray(),
                    ((List<Number>) h.get("counts")).stream().mapToLong(Number::longValue).toArray(), r == null ? null : r.gg(),
                    r == null ? Double.NaN : r.std(), Boolean.TRUE.equals(h.get("exact"))));
        }
        return out;
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
