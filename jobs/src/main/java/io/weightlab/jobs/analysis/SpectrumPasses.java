package io.weightlab.jobs.analysis;

import io.weightlab.jobs.spark.Format;
import io.weightlab.jobs.spark.JobRun;
import io.weightlab.jobs.spark.ProgressReporter;
import io.weightlab.jobs.spark.SerializableConfiguration;
import io.weightlab.jobs.spark.WorkPacker;

import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.io.Dequantization;
import io.weightlab.common.model.FusedExperts;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.model.TensorName;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import scala.Tuple2;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The passes of {@code spectrum} over the matrices of one checkpoint or of many (a fleet): which matrices are
 * analysed (the others listed with the reason), the matrices within --max-exact-mb packed into a few tasks per core by
 * cost (every checkpoint's in one Spark stage, largest first), the distributed routes one matrix at a time, then the
 * bulk fits on the driver. A matrix's result depends only on its tensor and the options, so a checkpoint's results do
 * not depend on its company.
 */
final class SpectrumPasses {
    /** One checkpoint's matrices: listed as not analysed, factorized in the packed stage, or for the distributed routes. */
    record Plan(String root, List<SpectrumJob.MatrixResult> listed, List<Tuple2<TensorInfo, Dequantization>> work,
                List<Tuple2<TensorInfo, Dequantization>> oversized) {}

    private SpectrumPasses() {}

    /** The checkpoint's 2-D and 4-D tensors, a fused 3-D expert tensor as one matrix per expert. */
    static List<TensorInfo> matrices(Checkpoint ckpt) {
        List<TensorInfo> matrices = new ArrayList<>();
        for (TensorInfo t : ckpt.tensors()) {
            if (FusedExperts.isFused(t)) matrices.addAll(FusedExperts.split(t));
            else matrices.add(t);
        }
        return matrices;
    }

    /** Where each matrix of {@code ckpt} goes; refuses an --include role the checkpoint does not have. */
    static Plan plan(Checkpoint ckpt, Map<String, Dequantization> dq, SpectrumJob.Options opts) {
        List<SpectrumJob.MatrixResult> listed = new ArrayList<>();
        List<Tuple2<TensorInfo, Dequantization>> work = new ArrayList<>();
        List<Tuple2<TensorInfo, Dequantization>> oversized = new ArrayList<>();
        List<TensorInfo> matrices = matrices(ckpt);
        SpectrumJob.requireIncluded(opts.include(), matrices);
        for (TensorInfo t : matrices) {
            TensorName n = TensorName.parse(t.name());
            String why = SpectrumJob.exclusion(t, n, opts.include());
            if (why == null) continue;
            if (!why.isEmpty()) {
                listed.add(new SpectrumJob.MatrixResult(t.name(), "not analysed: " + why, SpectrumJob.baseRow(t, n, "not analysed: " + why, "none"), new double[0]));
            } else if (t.rank() == 4 && t.elementCount() * 8 > opts.maxExactBytes()) {
                listed.add(ConvKernelSpectrum.oversized(t));
            } else if (t.elementCount() * 8 > opts.maxExactBytes()) {
                if (!opts.randomized() && !DistributedSpectrum.gramFits(t)) {
                    String s = "not analysed: " + t.shapeString() + " needs " + Format.bytes(t.elementCount() * 8)
                            + " in double, over --max-exact-mb, and the distributed Gram route needs a short side of at most 16384"
                            + " (--method randomized --top-k K takes the distributed Krylov route, any size)";
                    listed.add(new SpectrumJob.MatrixResult(t.name(), s, SpectrumJob.baseRow(t, n, s, "none"), new double[0]));
                } else {
                    oversized.add(new Tuple2<>(t, dq.get(t.name())));
                }
            } else {
                work.add(new Tuple2<>(t, dq.get(t.name())));
            }
        }
        return new Plan(ckpt.root(), listed, work, oversized);
    }

    /** A matrix's factorization cost, in proportion: m·n·min(m, n) for the SVD or the Gram route. */
    static long factorizationCost(TensorInfo t) {
        long n = t.elementCount();
        long shortSide = t.rank() >= 2 ? Math.min(t.dim(0), n / Math.max(1, t.dim(0))) : 1;
        return Math.max(1, n) * Math.max(1, shortSide); // within --max-exact-mb: far from overflowing
    }

    /** Every plan's results, in the plans' order, each sorted by name as {@code spectrum.parquet} lists them. */
    static List<List<SpectrumJob.MatrixResult>> compute(JobRun run, List<Plan> plans, SpectrumJob.Options opts) {
        JavaSparkContext jsc = run.jsc();
        List<List<SpectrumJob.MatrixResult>> results = new ArrayList<>();
        List<Tuple2<Integer, Tuple2<TensorInfo, Dequantization>>> work = new ArrayList<>();
        for (int i = 0; i < plans.size(); i++) {
            Plan p = plans.get(i);
            results.add(new ArrayList<>(p.listed()));
            for (Tuple2<TensorInfo, Dequantization> w : p.work()) work.add(new Tuple2<>(i, w));
            long bytes = p.work().stream().mapToLong(w -> w._1().byteLength()).sum();
            run.console().printf("[spectrum] %s: %d matrices to factorize (%s), %d listed as not analysed%n", p.root(), p.work().size(),
                    Format.bytes(bytes), p.listed().size());
        }
        // a few tasks per core, filled largest-first by factorization cost: a task per matrix paid Spark's per-task
        // scheduling for each of a small model's 36 matrices (BENCHMARKS.md, fleets); each matrix still opens its file
        List<List<Tuple2<Integer, Tuple2<TensorInfo, Dequantization>>>> tasks =
                WorkPacker.packByCount(work, w -> factorizationCost(w._2()._1()), jsc.defaultParallelism());
        ProgressReporter progress = run.progress(tasks.stream()
                .mapToLong(l -> l.stream().mapToLong(w -> w._2()._1().byteLength()).sum()).toArray());
        Broadcast<SerializableConfiguration> conf = run.conf();
        boolean pl = opts.powerLaw();
        if (!work.isEmpty()) {
            for (Tuple2<Integer, SpectrumJob.MatrixResult> r : jsc.parallelize(tasks, tasks.size())
                    .flatMap(task -> {
                        List<Tuple2<Integer, SpectrumJob.MatrixResult>> out = new ArrayList<>(task.size());
                        for (Tuple2<Integer, Tuple2<TensorInfo, Dequantization>> w : task) {
                            out.add(new Tuple2<>(w._1(), SpectrumJob.factorize(conf.value().get(), w._2()._1(), w._2()._2(), pl, opts)));
                        }
                        return out.iterator();
                    }).collect()) {
                results.get(r._1()).add(r._2());
            }
        }
        run.endProgress(progress);
        for (int i = 0; i < plans.size(); i++) {
            List<SpectrumJob.MatrixResult> mine = results.get(i);
            for (Tuple2<TensorInfo, Dequantization> w : plans.get(i).oversized()) {
                // top-k asked: the Gram matrix's exact top when it fits a task's budget, else block Krylov
                boolean krylov = opts.randomized() && !DistributedSpectrum.gramWithin(w._1(), opts.maxExactBytes());
                mine.add(krylov ? DistributedSpectrum.krylovRoute(jsc, conf, w._1(), w._2(), opts, run.console())
                        : DistributedSpectrum.gramRoute(jsc, conf, w._1(), w._2(), opts, run.console()));
            }
            for (SpectrumJob.MatrixResult r : mine) {
                RandomMatrixColumns.addBulkFit(r, opts.randomize());
                VectorColumns.addMissing(r, opts.vectors());
            }
            mine.sort((a, b) -> io.weightlab.common.io.NaturalOrder.INSTANCE.compare(a.name(), b.name()));
        }
        return results;
    }
}
