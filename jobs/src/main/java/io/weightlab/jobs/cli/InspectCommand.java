package io.weightlab.jobs.cli;

import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.io.CheckpointCatalog;
import io.weightlab.common.commit.StagedOutput;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.report.Tables;
import io.weightlab.jobs.analysis.FleetInspectJob;
import io.weightlab.jobs.analysis.InspectJob;
import io.weightlab.jobs.spark.JobRun;
import io.weightlab.jobs.spark.ParquetTables;
import io.weightlab.jobs.spark.SparkSupport;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;

@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = {"List a checkpoint's tensors (name, dtype, shape, parameters, bytes, shard,",
                "layer, module kind) and totals per dtype, layer and module kind; headers only.",
                "A fleet (several inputs, --inputs or --fleet; docs/fleet.md, Fleet inspect)",
                "runs on Spark (many headers are read on the executors), prints one line a",
                "checkpoint and the totals, and with --out writes one Parquet dataset by",
                "model and step (--append: new or changed checkpoints only):",
                "  weightlab inspect 'runs/*/checkpoint-*' --fleet --out inventory/ --append"})
public class InspectCommand implements Callable<Integer> {
    @Parameters(arity = "0..*", paramLabel = "CHECKPOINT", description = {"checkpoint: .safetensors file, index.json, directory or glob;",
            "several, or --inputs, or --fleet: a fleet (docs/fleet.md), where a glob matches whole checkpoints"})
    List<String> inputs = new ArrayList<>();

    @Mixin
    FleetOptions fleet;

    @Mixin
    OutputOptions output;

    @Mixin
    SparkOptions spark;

    @Spec
    CommandSpec spec;

    @Option(names = "--format", split = ",", defaultValue = "json,csv", description = {"with --out: json, csv, parquet (default: ${DEFAULT-VALUE});",
            "a fleet writes only its Parquet dataset"})
    Set<String> formats;

    @Option(names = "--summary", description = "print only the totals, not every tensor (a fleet: only the fleet's totals)")
    boolean summary;

    @Option(names = "--each", description = "fleet: print each checkpoint as inspect of it alone does (with --summary: its totals), not one line")
    boolean each;

    @Override
    public Integer call() {
        for (String f : formats) if (!Set.of("json", "csv", "parquet").contains(f)) throw new UsageException("--format: unknown format '" + f + "'");
        if (fleet.isFleet(inputs)) return fleet();
        if (inputs.isEmpty()) throw new UsageException("inspect: name a checkpoint (or several, or --inputs FILE)");
        if (each) throw new UsageException("--each applies to a fleet (several inputs, --inputs or --fleet)");
        String input = inputs.get(0);
        Configuration hconf = SparkSupport.hadoopConf(spark.master, spark.conf);
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
                    // typed as the fleet dataset's columns, also where a checkpoint has no stack, layer or expert at all
                    ParquetTables.write(hconf, rows, out.staged("inspect.parquet").toString(), io.weightlab.jobs.analysis.FleetInspectJob.NULL_TYPES);
                }
                System.out.println("output: " + out.outputDir());
                return 0;
            });
        }
    }

    /** Several checkpoints: one line each and the totals; with --out, the fleet's Parquet dataset (docs/fleet.md). */
    private int fleet() {
        if (spec.commandLine().getParseResult().hasMatchedOption("--format") && !formats.equals(Set.of("parquet"))) {
            throw new UsageException("--format: a fleet writes one Parquet dataset; json and csv are written for one checkpoint");
        }
        if (output.out == null && (fleet.append || fleet.prune || output.overwrite)) {
            throw new UsageException("--append, --prune and --overwrite update a fleet's dataset: they need --out");
        }
        FleetInspectJob.Options o = new FleetInspectJob.Options(inputs, fleet.inputsFile, output.out, fleet.mode(output.overwrite),
                fleet.prune, fleet.bad());
        FleetInspectJob.Listing listing = each ? (summary ? FleetInspectJob.Listing.EACH_SUMMARY : FleetInspectJob.Listing.EACH)
                : summary ? FleetInspectJob.Listing.NONE : FleetInspectJob.Listing.LINE;
        // the inputs are resolved once, here: few enough checkpoints are read on the driver without starting Spark
        FleetInspectJob.Resolved fleetInputs = FleetInspectJob.resolve(SparkSupport.hadoopConf(spark.master, spark.conf), o);
        if (!fleetInputs.needsSpark()) {
            FleetInspectJob.printSummary(FleetInspectJob.runWithoutSpark(fleetInputs, listing, System.out), output.out, System.out);
            return 0;
        }
        try (SparkSupport.Handle h = SparkSupport.open("weightlab inspect", spark.master, spark.conf)) {
            FleetInspectJob.printSummary(FleetInspectJob.run(h.context(), fleetInputs, listing, System.out), output.out, System.out);
            return 0;
        }
    }
}
