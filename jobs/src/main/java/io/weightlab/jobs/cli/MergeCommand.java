package io.weightlab.jobs.cli;

import io.weightlab.common.error.UsageException;
import io.weightlab.common.merge.MergeRegistry;
import io.weightlab.common.model.DType;
import io.weightlab.jobs.spark.SparkSupport;
import io.weightlab.jobs.weights.MergeJob;
import io.weightlab.jobs.weights.MergeScreenJob;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "merge", mixinStandardHelpOptions = true,
        description = {"Merges fine-tunes of one base by a mergekit recipe, read as-is: merge_method, base_model, models with per-model",
                "parameters, top-level parameters (numbers, filter lists, gradient lists), dtype, out_dtype. Methods: --list-methods.",
                "Every task holds one slice of the N models of one tensor; output: safetensors shards, the base's config and tokenizer,",
                "provenance.json (each tensor's method and resolved parameters), _SUCCESS last. docs/algorithms.md has the formulas.",
                "With --adapters: PEFT LoRA adapters of one base merged into one adapter as PEFT's add_weighted_adapter does",
                "(--combination svd, cat, linear, ties, dare_ties, ..._svd; --list-methods), optionally into the base (--into-base).",
                "--screen GRID.yaml instead screens many candidate recipes (a list, or a recipe with a parameter grid; docs/methods.md",
                "\"Merge-and-screen grids\") in one job without writing weights: data-free metrics of every merged tensor, the candidates",
                "ranked (screen.json, screen_tensors.csv/.jsonl, screen_candidates.csv, report.html; docs/schema.md); --write-top K",
                "writes the best K as full merges under top/<rank>-<name>/."})
public class MergeCommand implements Callable<Integer> {
    @Option(names = "--screen", paramLabel = "GRID", description = "screen the candidates of a grid file (YAML: 'candidates:' or a recipe with 'grid:'; docs/methods.md) instead of merging one recipe")
    String screen;

    @Option(names = "--write-top", paramLabel = "K", defaultValue = "0", description = "with --screen: write the best K candidates as full merges under top/<rank>-<name>/ (default: ${DEFAULT-VALUE})")
    int writeTop;

    @Option(names = "--rank-by", paramLabel = "SCORE", defaultValue = "mean_cosine",
            description = "with --screen: mean_cosine (mean over the models of cosine(merged - base, task vector)), min_cosine, min_sign_agreement, rel_change (smallest change first), alpha_out_of_range (with --spectra-alpha, fewest first); docs/algorithms.md §32.8 (default: ${DEFAULT-VALUE})")
    String rankBy;

    @Option(names = "--spectra", description = "with --screen: also the stable rank and 90 %% energy rank of every candidate's merged-minus-base matrix up to --spectra-max-mb")
    boolean spectra;

    @Option(names = "--spectra-alpha", description = {"with --screen: also WeightWatcher's power-law alpha of every candidate's merged matrix that --spectra",
            "takes whole (spectrum's fit and defaults; one more SVD per candidate and matrix); implies --spectra"})
    boolean spectraAlpha;

    @Option(names = "--spectra-max-mb", paramLabel = "MB", description = "with --screen: the largest matrix (its values in doubles, MiB) whose spectrum is computed; implies --spectra (default with --spectra: 32)")
    Double spectraMaxMb;

    @Option(names = "--config", paramLabel = "RECIPE", description = "the mergekit recipe (YAML; file://, hdfs://, s3a://). Here --config is the recipe, not option defaults")
    String recipe;

    @Mixin
    OutputOptions output;

    @Mixin
    SparkOptions spark;

    @Option(names = "--seed", defaultValue = "0", description = "seed of DARE's random masks, with the tensor name, input and element block (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--out-dtype", description = "write floating tensors as F32, BF16, F16 or F64 (default: the recipe's out_dtype, then dtype, then as stored)")
    String outDType;

    @Option(names = "--max-shard-size", defaultValue = "5GB", converter = ByteSize.class, description = "largest shard (default: ${DEFAULT-VALUE})")
    long maxShardBytes;

    @Option(names = "--memory-budget", defaultValue = "256MiB", converter = ByteSize.class,
            description = "per-task buffer for the models' values at one step: budget / (N + 3) positions (default: ${DEFAULT-VALUE})")
    long memoryBudget;

    @Option(names = "--resume", description = "take over the staging of an interrupted run with the same recipe, models and options")
    boolean resume;

    @Option(names = "--adapters", split = ",", paramLabel = "DIR", description = "PEFT LoRA adapter directories of one base to merge into one adapter (instead of --config)")
    java.util.List<String> adapters;

    @Option(names = "--weights", split = ",", paramLabel = "W", description = "with --adapters: one weight per adapter (PEFT's weights; negative subtracts)")
    double[] weights;

    @Option(names = "--combination", paramLabel = "TYPE[:K=V,...]", defaultValue = "svd",
            description = {"with --adapters: PEFT's combination_type and its parameters, e.g. ties:density=0.5,majority_sign_method=frequency",
                    "or svd:svd_rank=16,svd_clamp=0.99 (default: ${DEFAULT-VALUE}, PEFT's)"})
    String combination;

    @Option(names = "--into-base", paramLabel = "BASE", description = "with --adapters: also write BASE + s*B*A of the merged adapter as a full checkpoint into <out>/merged/")
    String intoBase;

    @Option(names = "--list-methods", help = true, description = "print every merge method with its parameters and exit")
    boolean listMethods;

    @Override
    public Integer call() {
        if (listMethods) {
            System.out.print(MergeRegistry.catalog().listing());
            System.out.println();
            System.out.println("With --adapters (--combination, PEFT's add_weighted_adapter):");
            System.out.print(io.weightlab.common.merge.adapter.AdapterCombinations.catalog().listing());
            return 0;
        }
        if (adapters != null) return mergeAdapters();
        if (weights != null || intoBase != null) throw new UsageException("--weights and --into-base go with --adapters");
        if (recipe != null && screen != null) throw new UsageException("give --config RECIPE (one merge) or --screen GRID (many candidates), not both");
        if (recipe == null && screen == null) throw new UsageException("--config RECIPE (a mergekit YAML recipe), --screen GRID (candidates to screen) or --adapters DIR,DIR,... is required");
        DType dt = null;
        if (outDType != null) {
            dt = DType.parse(outDType.toUpperCase(Locale.ROOT));
            if (dt == null || !dt.isFloatingPoint()) throw new UsageException("--out-dtype " + outDType + ": not a dtype (F32, BF16, F16, F64)");
        }
        if (screen != null) return screen(dt);
        if (writeTop != 0 || spectra || spectraAlpha || spectraMaxMb != null || !rankBy.equals("mean_cosine")) {
            throw new UsageException("--write-top, --rank-by, --spectra, --spectra-alpha and --spectra-max-mb go with --screen GRID");
        }
        try (SparkSupport.Handle h = SparkSupport.open("weightlab merge", spark.master, spark.conf)) {
            MergeJob.run(h.context(), new MergeJob.Options(recipe, output.out, output.overwrite, seed, dt, maxShardBytes, memoryBudget, resume), System.out);
            System.out.println("output: " + output.out + "  (safetensors shards, " + MergeJob.PROVENANCE + ", copied config/tokenizer files)");
            return 0;
        }
    }

    private Integer mergeAdapters() {
        if (recipe != null || screen != null) throw new UsageException("--adapters, --config and --screen are three kinds of merge: give one");
        if (writeTop != 0 || spectra || spectraAlpha || spectraMaxMb != null || !rankBy.equals("mean_cosine")) {
            throw new UsageException("--write-top, --rank-by, --spectra, --spectra-alpha and --spectra-max-mb go with --screen GRID");
        }
        if (weights == null) throw new UsageException("--adapters needs --weights, one per adapter (e.g. --weights 1,1)");
        if (resume || outDType != null) throw new UsageException("--resume and --out-dtype apply to --config merges (an adapter is written in float32)");
        try (SparkSupport.Handle h = SparkSupport.open("weightlab merge --adapters", spark.master, spark.conf)) {
            io.weightlab.jobs.weights.AdapterMergeJob.run(h.context(), new io.weightlab.jobs.weights.AdapterMergeJob.Options(adapters, weights, combination,
                    output.out, output.overwrite, seed, intoBase, maxShardBytes), System.out);
            System.out.println("output: " + output.out + "  (adapter_config.json, adapter_model.safetensors, " + io.weightlab.jobs.weights.AdapterMergeJob.REPORT
                    + (intoBase != null ? ", merged/" : "") + ")");
            return 0;
        }
    }

    private Integer screen(DType dt) {
        if (resume) throw new UsageException("--resume is not supported with --screen (a screen writes no weights unless --write-top; run it again)");
        if (spectraMaxMb != null && !(spectraMaxMb > 0)) throw new UsageException("--spectra-max-mb " + spectraMaxMb + ": a positive size in MiB");
        long spectraBytes = spectraMaxMb != null ? (long) (spectraMaxMb * (1 << 20)) : spectra || spectraAlpha ? 32L << 20 : 0;
        try (SparkSupport.Handle h = SparkSupport.open("weightlab merge", spark.master, spark.conf)) {
            MergeScreenJob.run(h.context(), new MergeScreenJob.Options(screen, output.out, output.overwrite, seed, dt, maxShardBytes, memoryBudget, writeTop, rankBy,
                    spectraBytes, spectraAlpha), System.out);
            System.out.println("output: " + output.out + "  (" + MergeScreenJob.SCREEN + ", " + MergeScreenJob.TENSORS + ".csv/.jsonl, " + MergeScreenJob.CANDIDATES
                    + ", report.html" + (writeTop > 0 ? ", top/" : "") + ")");
            return 0;
        }
    }
}
