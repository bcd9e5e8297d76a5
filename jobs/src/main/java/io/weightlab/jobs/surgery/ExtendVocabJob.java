package io.weightlab.jobs.surgery;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.error.WeightLabException;
import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.io.CheckpointCatalog;
import io.weightlab.common.io.ElementDecoder;
import io.weightlab.common.io.RangeReader;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.transform.KeepAction;
import io.weightlab.common.transform.TransformPlanner;
import io.weightlab.common.vocab.NewToken;
import io.weightlab.common.vocab.NewTokensFile;
import io.weightlab.common.vocab.RowMoments;
import io.weightlab.common.vocab.TokenizerPieces;
import io.weightlab.common.vocab.TokenizerVocab;
import io.weightlab.common.vocab.VocabInit;
import io.weightlab.common.vocab.VocabInitRegistry;
import io.weightlab.common.vocab.VocabInits;
import io.weightlab.common.vocab.VocabRowsAction;
import io.weightlab.jobs.spark.CheckpointSiblings;
import io.weightlab.jobs.spark.JobRun;
import io.weightlab.jobs.spark.ModelWriter;
import io.weightlab.jobs.spark.SerializableConfiguration;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.SparkContext;
import scala.Tuple2;

import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code weightlab extend-vocab}: new tokens appended to the input embedding and, when untied, the LM head
 * (docs/algorithms.md, "Vocabulary expansion"). Existing rows and every other tensor keep their bytes; config.json
 * gets the new vocab_size; {@code new_tokens.json} lists each token's id (tokenizer files are copied unchanged:
 * adding the tokens in the listed order gives these ids). A token the tokenizer already holds is skipped with a warning.
 */
public final class ExtendVocabJob {
    public record Options(String source, String out, boolean overwrite, String tokens, String method, long padTo, long seed, long maxShardBytes) {}

    public static final String NEW_TOKENS = "new_tokens.json";
    static final String TOKENIZER = "tokenizer.json";
    /** Rows decoded at a time when measuring the existing rows (bounds a task's doubles to ~32 MiB at d = 4096). */
    static final int MEASURE_ROWS = 1024;

    private ExtendVocabJob() {}

    public static Map<String, Object> run(SparkContext sc, Options o, PrintStream console) {
        JobRun.checkOut(o.out(), JobRun.Output.REQUIRED, "where the extended checkpoint goes");
        if (o.padTo() < 1) throw new UsageException("--pad-to must be at least 1, got " + o.padTo());
        VocabInit method = VocabInitRegistry.create(o.method());
        try (JobRun run = JobRun.start("extend-vocab", sc, console)) {
            return run(run, o, method);
        }
    }

    private static Map<String, Object> run(JobRun job, Options o, VocabInit method) {
        Configuration hconf = job.hadoop();
        Checkpoint src = CheckpointCatalog.open(hconf, o.source());
        ObjectNode config = CheckpointSiblings.modelConfig(hconf, o.source());
        TensorInfo embed = embedding(src);
        TensorInfo head = src.tensor("lm_head.weight");
        boolean tied = head == null;
        if (head != null && (head.rank() != 2 || head.dim(0) != embed.dim(0) || head.dim(1) != embed.dim(1))) {
            throw new UsageException(head.file() + ": 'lm_head.weight' " + head.shapeString() + " does not match '" + embed.name() + "' "
                    + embed.shapeString() + " (rule: HeadMatchesEmbedding)");
        }
        long n = embed.dim(0);
        List<NewToken> tokens = NewTokensFile.parse(o.tokens(), CheckpointSiblings.readSmall(hconf, o.tokens()));
        OldTokenizer old = tokenizer(hconf, o.source());
        TokenizerVocab vocab = old == null ? null : old.vocab();
        if (vocab == null) job.console().printf("[extend-vocab] warning: no %s beside %s: tokens already in the vocabulary cannot be found and skipped%n", TOKENIZER, src.root());

        List<VocabInit.NewRow> added = new ArrayList<>();
        List<Map<String, Object>> listed = new ArrayList<>();
        try {
            for (NewToken t : tokens) {
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("token", t.token());
                Integer existing = vocab == null ? null : vocab.id(t.token());
                if (existing != null) {
                    job.console().printf("[extend-vocab] warning: %s:%d: '%s' is already token %d of %s; skipped%n", o.tokens(), t.line(), t.token(), existing, TOKENIZER);
                    row.put("status", "skipped: already token " + existing);
                    listed.add(row);
                    continue;
                }
                int[] pieces = method.needsPieces() ? pieces(o.tokens(), t, old, n) : null;
                row.put("id", n + added.size());
                row.put("status", "added");
                if (pieces != null) row.put("pieces", pieces);
                added.add(new VocabInit.NewRow(t.token(), pieces));
                listed.add(row);
            }
        } finally {
            if (old != null) old.closePieces(); // the native tokenizer, also when a token is refused
        }
        if (added.isEmpty()) throw new UsageException(o.tokens() + ": every token is already in the vocabulary; nothing to add (rule: NewTokensAdded)");
        long rows = (n + added.size() + o.padTo() - 1) / o.padTo() * o.padTo();
        boolean padded = rows > n + added.size();

        VocabInit.Needs needs = method.needs();
        if (padded && needs == VocabInit.Needs.NOTHING) needs = VocabInit.Needs.MEAN;
        double initStd = config.path("initializer_range").asDouble(0.02);
        String spec = o.method();
        job.console().printf("[extend-vocab] %s: %d new tokens (%d skipped), %d -> %d rows%s, %s, %s%n", src.root(), added.size(), tokens.size() - added.size(),
                n, rows, padded ? " (padded to a multiple of " + o.padTo() + ")" : "", spec, tied ? "tied head" : "untied head");

        List<TransformPlanner.Planned> plans = new ArrayList<>();
        List<Broadcast<?>> shipped = new ArrayList<>();
        Map<String, String> described = new LinkedHashMap<>();
        for (TensorInfo t : src.tensors()) {
            boolean isHead = t == head;
            if (t != embed && !isHead) {
                plans.add(new TransformPlanner.Planned(t, "copy", KeepAction.INSTANCE, "unchanged", t.dtype()));
                continue;
            }
            RowMoments m = needs == VocabInit.Needs.NOTHING ? null : measure(job, t, needs == VocabInit.Needs.COVARIANCE);
            String role = isHead ? "output" : "input";
            VocabInit.RowFiller filler = method.prepare(m, initStd, o.seed(), role, broadcasts(job, shipped));
            VocabRowsAction a = new VocabRowsAction(t, added, rows, filler, padded ? VocabInits.meanRows(m) : null);
            plans.add(TransformPlanner.Planned.computed(t.name(), t.dtype(), a.outShape(), spec, a, (isHead ? "output" : "input") + " rows of the new tokens"));
            described.put(t.name(), a.describe());
        }
        ObjectNode target = config.deepCopy();
        target.put("vocab_size", rows);
        ModelWriter.Model model = ModelWriter.Model.of("", plans, o.maxShardBytes(), ModelWriter.jobMetadata("extend-vocab"), o.source(), null, target);
        job.output(o.out(), JobRun.Output.REQUIRED, "where the extended checkpoint goes", o.overwrite());
        return job.commitAfter("the extended checkpoint", () -> {
            ModelWriter.write(job, model);
            shipped.forEach(Broadcast::destroy); // the Gaussian factors (d x d each) are no longer needed anywhere
            Map<String, Object> run = job.facts();
            run.put("source", src.root());
            run.put("method", spec);
            run.put("seed", o.seed());
            run.put("tied", tied);
            run.put("old_rows", n);
            run.put("new_rows", rows);
            run.put("added", added.size());
            run.put("skipped", tokens.size() - added.size());
            run.put("padding_rows", rows - n - added.size());
            run.put("rows", described);
            run.put("seconds", job.seconds());
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("method", spec);
            doc.put("old_rows", n);
            doc.put("vocab_size", rows);
            doc.put("padding", Map.of("from", n + added.size(), "to", rows, "init", "mean of the existing rows"));
            doc.put("tokens", listed);
            try {
                job.staged().writeString(NEW_TOKENS, new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(doc));
            } catch (IOException e) {
                throw new WeightLabException(o.out() + ": writing " + NEW_TOKENS + " failed: " + e.getMessage(), e);
            }
            ModelWriter.writeProvenance(job.staged(), run, "tensors", ModelWriter.planRows(plans));
            job.console().printf("[extend-vocab] wrote %s in %.1f s%n", o.out(), job.seconds());
            return run;
        });
    }

    /** Large filler data (the Gaussian's d x d factor) goes to the executors once, not inside every task. */
    private static VocabInit.Sharing broadcasts(JobRun job, List<Broadcast<?>> shipped) {
        return new VocabInit.Sharing() {
            @Override
            public <T extends java.io.Serializable> VocabInit.Shared<T> share(T value) {
                Broadcast<T> b = job.jsc().broadcast(value);
                shipped.add(b);
                return new Broadcasted<>(b);
            }
        };
    }

    private record Broadcasted<T>(Broadcast<T> value) implements VocabInit.Shared<T> {
        @Override public T get() { return value.value(); }
    }

    /** The input embedding: the one 2-D tensor named {@code *embed_tokens.weight}. */
    static TensorInfo embedding(Checkpoint src) {
        List<TensorInfo> found = src.tensors().stream().filter(t -> t.name().endsWith("embed_tokens.weight")).toList();
        if (found.size() != 1 || found.get(0).rank() != 2) {
            throw new UsageException(src.root() + ": " + (found.isEmpty() ? "no" : found.size() + "") + " '*embed_tokens.weight' tensor"
                    + (found.size() > 1 ? "s " + found.stream().map(TensorInfo::name).toList() : "") + "; extend-vocab grows one 2-D input embedding (rule: OneEmbedding)");
        }
        return found.get(0);
    }

    /** The source's tokenizer.json: its vocabulary, and its bytes for splitting tokens given without pieces. */
    private static final class OldTokenizer {
        private final String path;
        private final byte[] json;
        private final TokenizerVocab vocab;
        private TokenizerPieces pieces;

        OldTokenizer(String path, byte[] json) {
            this.path = path;
            this.json = json;
            this.vocab = TokenizerVocab.parse(path, json);
        }

        TokenizerVocab vocab() { return vocab; }

        /** Loaded on first use: only subword-mean and convex on a .txt list need the tokenizers library. */
        int[] split(String token) {
            if (pieces == null) pieces = TokenizerPieces.open(path, json);
            return pieces.split(token);
        }

        /** Frees the native tokenizer once every token is split. */
        void closePieces() {
            if (pieces != null) pieces.close();
            pieces = null;
        }
    }

    private static OldTokenizer tokenizer(Configuration conf, String source) {
        try {
            Path p = new Path(CheckpointSiblings.sourceDir(conf, source), TOKENIZER);
            if (!p.getFileSystem(conf).exists(p)) return null;
            return new OldTokenizer(p.toString(), CheckpointSiblings.readSmall(conf, p.toString()));
        } catch (IOException e) {
            throw new WeightLabException(source + ": reading " + TOKENIZER + " failed: " + e.getMessage(), e);
        }
    }

    /**
     * The ids of a token's pieces: given as ids, as strings looked up in tokenizer.json, or, for a plain token, how the
     * model's tokenizer splits it; each an existing row.
     */
    private static int[] pieces(String file, NewToken t, OldTokenizer old, long rows) {
        String where = file + ":" + t.line() + ": '" + t.token() + "'";
        int[] ids;
        if (t.ids() != null) {
            ids = t.ids();
        } else if (t.pieces() != null) {
            if (old == null) throw new UsageException(where + ": pieces as strings need the model's " + TOKENIZER + "; give \"ids\" instead (rule: PiecesKnown)");
            ids = new int[t.pieces().size()];
            for (int i = 0; i < ids.length; i++) {
                Integer id = old.vocab().id(t.pieces().get(i));
                if (id == null) throw new UsageException(where + ": piece '" + t.pieces().get(i) + "' is not in " + TOKENIZER + " (rule: PiecesKnown)");
                ids[i] = id;
            }
        } else if (old != null) {
            ids = old.split(t.token());
            if (ids.length == 0) throw new UsageException(where + ": the model's " + TOKENIZER + " splits it into no pieces (rule: PiecesGiven)");
        } else {
            throw new UsageException(where + ": this method needs the token's pieces: the model's " + TOKENIZER + " to split it, or a .jsonl with"
                    + " \"pieces\" or \"ids\" (rule: PiecesGiven)");
        }
        for (int id : ids) {
            if (id >= rows) throw new UsageException(where + ": piece id " + id + " is not an existing row (the embedding has " + rows + ") (rule: PiecesKnown)");
        }
        return ids;
    }

    /** Mean (and scatter) of a token-row matrix's rows: contiguous row ranges on executors, merged in order on the driver. */
    static RowMoments measure(JobRun job, TensorInfo t, boolean scatter) {
        long rows = t.dim(0);
        int d = Math.toIntExact(t.dim(1));
        int tasks = (int) Math.max(1, Math.min(rows / MEASURE_ROWS, (long) job.jsc().defaultParallelism() * (scatter ? 1 : 4)));
        List<long[]> ranges = new ArrayList<>();
        for (int i = 0; i < tasks; i++) ranges.add(new long[] {i, rows * i / tasks, rows * (i + 1) / tasks});
        Broadcast<SerializableConfiguration> conf = job.conf();
        List<Tuple2<Long, RowMoments>> parts = new ArrayList<>(job.jsc().parallelize(ranges, tasks).map(r -> {
            RowMoments m = new RowMoments(d, scatter);
            int es = t.dtype().byteSize();
            try (RangeReader reader = new RangeReader(conf.value().get())) {
                for (long from = r[1]; from < r[2]; from += MEASURE_ROWS) {
                    int k = (int) Math.min(MEASURE_ROWS, r[2] - from);
                    byte[] buf = new byte[Math.multiplyExact(k * d, es)];
                    reader.read(t.file(), t.dataBegin() + from * d * es, buf, 0, buf.length);
                    double[] block = new double[k * d];
                    ElementDecoder.decode(t.dtype(), buf, 0, k * d, block, 0);
                    m.add(block, k);
                }
            }
            return new Tuple2<>(r[0], m);
        }).collect());
        parts.sort(Comparator.comparing(Tuple2::_1));
        RowMoments total = new RowMoments(d, scatter);
        for (Tuple2<Long, RowMoments> p : parts) total.merge(p._2());
        return total;
    }
}
