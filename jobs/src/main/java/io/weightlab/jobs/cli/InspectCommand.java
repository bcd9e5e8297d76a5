package io.weightlab.jobs.cli;

import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.io.CheckpointCatalog;
import io.weightlab.common.commit.StagedOutput;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.report.Tables;
import io.weightlab.jobs.analysis.InspectJob;
import io.weightlab.jobs.spark.JobRun;
import io.weightlab.jobs.spark.ParquetTables;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;

@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = {"List a checkpoint's tensors (name, dtype, shape, parameters, bytes, shard, layer, module kind)",
                "and totals per dtype, layer and module kind. Reads headers only."})
public class InspectCommand implements Callable<Integer> {
    @Parameters(index = "0", description = "checkpoint: .safetensors file, index.json, directory or glob")
    String input;

    @Mixin
    OutputOptions output;

    @Mixin
    SparkOptions spark;

    @Option(names = "--format", split = ",", defaultValue = "json,csv", description = "with --out: json, csv, parquet (default: ${DEFAULT-VALUE})")
    Set<String> formats;

    @Option(names = "--summary", description = "print only the totals, not every tensor")
    boolean summary;

    @Override
    public Integer call() {
        for (String f : formats) if (!Set.of("json", "csv", "parquet").contains(f)) throw new UsageException("--format: unknown format '" + f + "'");
        Configuration hconf = new Configuration();
        spark.conf.forEach((k, v) -> { if (k.startsWith("spark.hadoop.")) hconf.set(k.substring(13), v); });
        try (JobRun run = JobRun.local("inspect", hconf, System.out)) {
            // the output is checked (committed result, file, unwritable) before the checkpoint is read
            StagedOutput out = run.output(output.out, JobRun.Output.OPTIONAL, "where the inventory goes", output.overwrite);
            Checkpoint c = CheckpointCatalog.open(hconf, input);
            InspectJob.print(c, System.out, !summary);
            if (out == null) return 0;
            return run.commitAfter("the inventory", () -> {
                List<Map<String, Object>> rows = InspectJob.tensorRows(c);
                if (formats.contains("json")) {
                    Map<String, Object> doc = new LinkedHashMap<>();
                    doc.put("input", c.root());
                    doc.put("tensors", rows);
                    Map<String, Object> totals = new LinkedHashMap<>();
                    InspectJob.totals(c).forEach((g, m) -> {
                        Map<String, Object> gm = new LinkedHashMap<>();
                        m.forEach((k, v) -> gm.put(k, Map.of("tensors", v[0], "parameters", v[1], "bytes", v[2])));
                        totals.put(g, gm);
                    });
                    doc.put("totals", totals);
                    try (FSDataOutputStream os = out.create("inspect.json")) {
                        Tables.writeJson(os, doc);
                    }
                }
                if (formats.contains("csv")) {
                    try (FSDataOutputStream os = out.create("inspect.csv")) {
                        Tables.writeCsv(os, rows);
                    }
                }
                if (formats.contains("parquet")) {
                    // written with the Parquet library: inspect starts no Spark, even for this format
                    ParquetTables.write(hconf, rows, out.staged("inspect.parquet").toString());
                }
                System.out.println("output: " + out.outputDir());
                return 0;
            });
        }
    }
}
