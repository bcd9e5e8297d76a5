package io.weightlab.jobs.spark;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.weightlab.common.model.DType;
import io.weightlab.common.commit.StagedOutput;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.error.WeightLabException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The small files beside a checkpoint's weights (config.json, tokenizer files, generation_config.json, README):
 * copied into a job's output unchanged, so the result loads like the input. Weight files of other formats are
 * never copied (they would disagree with the new weights); when the dtype changes, config.json's torch_dtype
 * follows.
 */
public final class CheckpointSiblings {
    /** The model's configuration, the one sibling transformers cannot load weights without. */
    public static final String CONFIG = "config.json";
    static final long MAX_SIBLING_BYTES = 64L << 20;
    private static final Set<String> WEIGHT_SUFFIXES = Set.of(".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".h5",
            ".msgpack", ".onnx", ".onnx_data", ".gguf", ".pb", ".tflite", ".ot", ".npz");

    private CheckpointSiblings() {}

    /** The directory holding the checkpoint (the input itself, or the parent of a file or glob). */
    public static Path sourceDir(Configuration conf, String input) throws IOException {
        Path p = new Path(input);
        if (input.indexOf('*') >= 0 || input.indexOf('?') >= 0) return p.getParent();
        FileSystem fs = p.getFileSystem(conf);
        return fs.getFileStatus(p).isDirectory() ? p : p.getParent();
    }

    /** Copies the siblings into the staged output; returns the names copied and (prefixed "skipped: ") those not. */
    public static List<String> copy(Configuration conf, String input, StagedOutput out, DType outDType) {
        return copy(conf, input, out, "", outDType);
    }

    /** As above, into the sub-directory {@code prefix} of the output. */
    public static List<String> copy(Configuration conf, String input, StagedOutput out, String prefix, DType outDType) {
        List<String> done = new ArrayList<>();
        try {
            Path dir = sourceDir(conf, input);
            if (dir == null) return done;
            FileSystem fs = dir.getFileSystem(conf);
            for (FileStatus c : fs.listStatus(dir)) {
                String name = c.getPath().getName();
                if (!c.isFile() || name.startsWith(".") || name.startsWith("_") || name.endsWith(".index.json")) continue;
                if (isWeightFile(name) || name.equals(ModelWriter.PROVENANCE)) continue; // ours is written anew
                if (c.getLen() > MAX_SIBLING_BYTES) {
                    done.add("skipped: " + name + " (" + c.getLen() + " bytes, over " + MAX_SIBLING_BYTES + ")");
                    continue;
                }
                byte[] bytes = bytes(fs, c);
                if (name.equals("config.json") && outDType != null) bytes = withDtype(bytes, outDType);
                try (OutputStream os = out.create(prefix + name)) {
                    os.write(bytes);
                }
                done.add(name);
            }
        } catch (IOException e) {
            throw new WeightLabException(input + ": copying config and tokenizer files failed: " + e.getMessage(), e);
        }
        return done;
    }

    /** The {@code config.json} beside the weights of {@code input}, as a JSON object (a UsageException naming it otherwise). */
    public static ObjectNode modelConfig(Configuration conf, String input) {
        try {
            String dir = sourceDir(conf, input).toString();
            com.fasterxml.jackson.databind.JsonNode c = new ObjectMapper().readTree(readSmall(conf, dir + "/config.json"));
            if (!(c instanceof ObjectNode n)) throw new UsageException(dir + "/config.json: not a JSON object");
            return n;
        } catch (IOException ex) {
            throw new UsageException(input + ": a config.json beside the weights is required: " + ex.getMessage());
        }
    }

    /** GPT-2-style checkpoints (config.json model_type gpt2 / openai-gpt / imagegpt) store Conv1D [in, out] weights. */
    public static io.weightlab.common.transform.TensorContext.Layout layout(Configuration conf, String input) {
        try {
            Path config = new Path(sourceDir(conf, input), CONFIG);
            if (!config.getFileSystem(conf).exists(config)) return io.weightlab.common.transform.TensorContext.Layout.LINEAR;
            String type = new ObjectMapper().readTree(readSmall(conf, config.toString())).path("model_type").asText("");
            return switch (type) {
                case "gpt2", "openai-gpt", "imagegpt" -> io.weightlab.common.transform.TensorContext.Layout.CONV1D;
                default -> io.weightlab.common.transform.TensorContext.Layout.LINEAR;
            };
        } catch (IOException e) {
            return io.weightlab.common.transform.TensorContext.Layout.LINEAR;
        }
    }

    /** A small file (a sibling, or a parameter file such as stats.json) from any Hadoop file system, up to 64 MiB. */
    public static byte[] readSmall(Configuration conf, String uri) {
        Path p = new Path(uri);
        try {
            FileSystem fs = p.getFileSystem(conf);
            FileStatus st = fs.getFileStatus(p);
            if (st.getLen() > MAX_SIBLING_BYTES) throw new UsageException(uri + ": " + st.getLen() + " bytes is too large for a parameter file");
            return bytes(fs, st);
        } catch (java.io.FileNotFoundException e) {
            throw new UsageException(uri + ": no such file");
        } catch (IOException e) {
            throw new WeightLabException(uri + ": cannot read: " + e.getMessage(), e);
        }
    }

    private static byte[] bytes(FileSystem fs, FileStatus st) throws IOException {
        byte[] b = new byte[(int) st.getLen()];
        try (FSDataInputStream in = fs.open(st.getPath())) {
            in.readFully(0, b);
        }
        return b;
    }

    static boolean isWeightFile(String name) {
        String lower = name.toLowerCase(Locale.ROOT);
        for (String s : WEIGHT_SUFFIXES) if (lower.endsWith(s)) return true;
        return false;
    }

    /** config.json with torch_dtype / dtype set to the output dtype; other keys untouched. */
    static byte[] withDtype(byte[] config, DType d) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = (ObjectNode) json.readTree(config);
        String torch = switch (d) {
            case F32 -> "float32";
            case F64 -> "float64";
            case BF16 -> "bfloat16";
            case F16 -> "float16";
            default -> throw new IllegalArgumentException(d.name());
        };
        // transformers < 5 reads torch_dtype, 5 reads dtype: update whichever the file has.
        if (root.has("dtype")) root.put("dtype", torch);
        if (root.has("torch_dtype") || !root.has("dtype")) root.put("torch_dtype", torch);
        return (json.writerWithDefaultPrettyPrinter().writeValueAsString(root) + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }
}
