package io.weightlab.common.onnx;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.weightlab.common.error.CheckpointFormatException;
import io.weightlab.common.io.RangeReader;
import io.weightlab.common.io.SafetensorsLayout;
import io.weightlab.common.io.SafetensorsWriter;
import io.weightlab.common.commit.StagedOutput;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.error.WeightLabException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * ONNX model to safetensors: the initializers, renamed and re-oriented as {@link OnnxNaming} decides, with
 * their bytes copied unchanged (or transposed) straight from the model file or its external-data files.
 * Memory stays bounded: bytes stream through a buffer of {@link #BUFFER_BYTES}; a transposed matrix is
 * written in row blocks of at most that size.
 */
public final class OnnxImporter {
    static final int BUFFER_BYTES = 16 << 20;
    private static final ObjectMapper JSON = new ObjectMapper();

    public record Result(int tensors, long parameters, long bytesWritten, int transposed, Map<String, OnnxNaming.Mapping> mappings) {}

    private OnnxImporter() {}

    /** Writes {@code fileName} and {@code name_map.json} into {@code out}'s staging area (the caller commits). */
    public static Result importModel(Configuration conf, String onnxUri, StagedOutput out, String fileName,
                                     Map<String, String> metadata) {
        Path model = new Path(onnxUri);
        try {
            FileSystem fs = model.getFileSystem(conf);
            FileStatus st;
            try {
                st = fs.getFileStatus(model);
            } catch (FileNotFoundException e) {
                throw new UsageException(onnxUri + ": no such file");
            }
            if (!st.isFile()) throw new UsageException(onnxUri + ": not a file");
            String file = st.getPath().toString();
            OnnxModelScanner scan;
            try (FSDataInputStream in = fs.open(st.getPath())) {
                scan = OnnxModelScanner.scan(file, in, st.getLen());
            }
            if (scan.initializers().isEmpty()) {
                throw new CheckpointFormatException(file, null, "InvalidOnnx", "the graph has no initializers");
            }
            Map<String, OnnxNaming.Mapping> mappings = OnnxNaming.map(file, scan.initializers(), scan.nodes());
            Map<String, OnnxInitializer> byNewName = new HashMap<>();
            List<SafetensorsLayout.Spec> specs = new ArrayList<>();
            long params = 0;
            int transposed = 0;
            for (OnnxInitializer t : scan.initializers()) {
                OnnxNaming.Mapping m = mappings.get(t.name());
                long[] shape = m.transposed() ? new long[] {t.dims()[1], t.dims()[0]} : t.dims();
                specs.add(new SafetensorsLayout.Spec(m.name(), t.dtype(), shape));
                byNewName.put(m.name(), t);
                params += t.elementCount();
                if (m.transposed()) transposed++;
            }
            Map<String, String> md = new LinkedHashMap<>();
            md.put("format", "pt");
            if (metadata != null) md.putAll(metadata);
            SafetensorsLayout layout = SafetensorsLayout.of(specs, md);
            Path dir = st.getPath().getParent();
            try (RangeReader reader = new RangeReader(conf);
                 FSDataOutputStream os = out.create(fileName);
                 SafetensorsWriter w = new SafetensorsWriter(os, layout, out.finalPath(fileName).toString())) {
                byte[] buf = new byte[BUFFER_BYTES];
                for (SafetensorsLayout.Entry e : layout.entries()) {
                    OnnxInitializer t = byNewName.get(e.spec().name());
                    boolean tr = mappings.get(t.name()).transposed();
                    String src = t.file() == null ? file : externalFile(file, dir, t);
                    if (t.inline() != null) {
                        byte[] data = tr ? transposeInMemory(t.inline(), t) : t.inline();
                        w.write(data);
                    } else if (tr) {
                        writeTransposed(reader, src, t, w, buf);
                    } else {
                        for (long done = 0; done < t.length(); ) {
                            int n = (int) Math.min(buf.length, t.length() - done);
                            reader.read(src, t.offset() + done, buf, 0, n);
                            w.write(buf, 0, n);
                            done += n;
                        }
                    }
                }
                w.finish();
            }
            ObjectNode nm = JSON.createObjectNode();
            for (OnnxInitializer t : scan.initializers()) {
                OnnxNaming.Mapping m = mappings.get(t.name());
                ObjectNode o = nm.putObject(m.name());
                o.put("original", t.name());
                o.put("transposed", m.transposed());
                if (m.node() == null || (!m.transposed() && m.name().equals(t.name()))) o.putNull("onnx_node");
                else o.put("onnx_node", m.node());
                var shape = o.putArray("original_shape");
                for (long d : t.dims()) shape.add(d);
                o.put("dtype", t.dtype().name());
            }
            out.writeString("name_map.json", JSON.writerWithDefaultPrettyPrinter().writeValueAsString(nm));
            return new Result(specs.size(), params, layout.fileLength(), transposed, mappings);
        } catch (IOException e) {
            throw new WeightLabException(onnxUri + ": import failed: " + e.getMessage(), e);
        }
    }

    /** External data lives beside the model; a location that leaves the model's directory is refused. */
    static String externalFile(String modelFile, Path dir, OnnxInitializer t) {
        String loc = t.file();
        boolean bad = loc.isEmpty() || loc.startsWith("/") || loc.startsWith("\\") || loc.contains(":") || loc.indexOf('\0') >= 0;
        for (String part : loc.split("[/\\\\]")) bad |= part.equals("..");
        if (bad) {
            throw new CheckpointFormatException(modelFile, t.name(), "ExternalDataEscapesDirectory",
                    "external data location '" + loc + "' is not a relative path inside the model's directory");
        }
        return new Path(dir, loc).toString();
    }

    private static byte[] transposeInMemory(byte[] src, OnnxInitializer t) {
        int rows = (int) t.dims()[0], cols = (int) t.dims()[1], size = t.dtype().byteSize();
        byte[] dst = new byte[src.length];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                System.arraycopy(src, (r * cols + c) * size, dst, (c * rows + r) * size, size);
            }
        }
        return dst;
    }

    /**
     * Writes the [cols, rows] transpose of a [rows, cols] source in output row blocks. Each block is filled from
     * one sequential pass over the source in chunks, so memory is two buffers whatever the matrix size.
     */
    private static void writeTransposed(RangeReader reader, String src, OnnxInitializer t, SafetensorsWriter w, byte[] buf) throws IOException {
        long rows = t.dims()[0], cols = t.dims()[1];
        int size = t.dtype().byteSize();
        long rowBytes = cols * size;
        long outRowBytes = rows * size;
        int blockRows = (int) Math.max(1, Math.min(cols, buf.length / Math.max(1, outRowBytes)));
        byte[] block = new byte[(int) Math.min((long) blockRows * outRowBytes, Integer.MAX_VALUE - 16)];
        int chunkRows = (int) Math.max(1, Math.min(rows, buf.length / Math.max(1, rowBytes)));
        byte[] chunk = new byte[(int) Math.min((long) chunkRows * rowBytes, Integer.MAX_VALUE - 16)];
        for (long c0 = 0; c0 < cols; c0 += blockRows) {
            int h = (int) Math.min(blockRows, cols - c0);
            for (long r0 = 0; r0 < rows; r0 += chunkRows) {
                int n = (int) Math.min(chunkRows, rows - r0);
                reader.read(src, t.offset() + r0 * rowBytes, chunk, 0, (int) (n * rowBytes));
                for (int r = 0; r < n; r++) {
                    for (int c = 0; c < h; c++) {
                        System.arraycopy(chunk, (int) (r * rowBytes + (c0 + c) * size), block,
                                (int) (c * outRowBytes + (r0 + r) * size), size);
                    }
                }
            }
            w.write(block, 0, (int) (h * outRowBytes));
        }
    }
}
