package io.weightlab.common.transform;

import io.weightlab.common.model.DType;
import io.weightlab.common.io.ElementDecoder;
import io.weightlab.common.io.ElementEncoder;
import io.weightlab.common.io.RangeReader;
import io.weightlab.common.io.SafetensorsLayout;
import io.weightlab.common.io.SafetensorsWriter;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.stats.MomentAccumulator;

import java.io.IOException;
import java.io.OutputStream;
import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;
import java.util.zip.CheckedOutputStream;

/**
 * Writes one output shard: for each tensor in file order, either copies its stored bytes or runs its action piece
 * by piece (read, decode, transform in double, encode to the output dtype, append). Memory: one piece of
 * {@link #PIECE_ELEMENTS} values plus its bytes (2 x threads + 1 of them when transforming on threads), whatever the
 * tensor's size (orthogonal init and the svd-* edits excepted: the planner bounds their matrix). The moments of every
 * transformed tensor before the cast, and what actions report, come back for provenance; slices an earlier stage
 * already encoded in the output dtype ({@link EncodedSlicesAction}) are copied, and their moments are that stage's.
 */
public final class TransformedShardWriter {
    static final int PIECE_ELEMENTS = 1 << 20;

    /**
     * What was written: file name, length, CRC-32C of the whole file, moments of transformed tensors, and the
     * {@link TensorAction#facts()} of those whose action reported any (by tensor name).
     */
    public record ShardResult(String fileName, long length, long crc32c, Map<String, MomentAccumulator> written,
                              Map<String, Map<String, Object>> facts) implements Serializable {
        /** A completion marker written before facts existed deserializes with none. */
        public ShardResult {
            if (facts == null) facts = Map.of();
        }
    }

    private TransformedShardWriter() {}

    public static ShardResult write(RangeReader reader, OutputStream target, String fileName,
                                    List<TransformPlanner.Planned> tensors, Map<String, String> metadata) throws IOException {
        return write(reader, target, fileName, tensors, metadata, 1);
    }

    /**
     * As above; tensors whose action is {@link TensorAction#parallelSafe()} are transformed on {@code threads}
     * threads, piece by piece, while this thread reads and appends in order (same bytes, same moments).
     */
    public static ShardResult write(RangeReader reader, OutputStream target, String fileName,
                                    List<TransformPlanner.Planned> tensors, Map<String, String> metadata, int threads) throws IOException {
        Map<String, TransformPlanner.Planned> byName = new LinkedHashMap<>();
        java.util.ArrayList<SafetensorsLayout.Spec> specs = new java.util.ArrayList<>();
        for (TransformPlanner.Planned p : tensors) {
            byName.put(p.tensor().name(), p);
            specs.add(new SafetensorsLayout.Spec(p.tensor().name(), p.outDType(), p.tensor().shape()));
        }
        SafetensorsLayout layout = SafetensorsLayout.of(specs, metadata);
        CheckedOutputStream checked = new CheckedOutputStream(target, new CRC32C());
        Map<String, MomentAccumulator> written = new LinkedHashMap<>();
        Map<String, Map<String, Object>> facts = new LinkedHashMap<>();
        try (SafetensorsWriter w = new SafetensorsWriter(checked, layout, fileName)) {
            for (SafetensorsLayout.Entry e : layout.entries()) {
                TransformPlanner.Planned p = byName.get(e.spec().name());
                if (p.copiesBytes()) {
                    w.transfer(reader, p.tensor().file(), p.tensor().dataBegin(), p.tensor().byteLength());
                } else if (p.action() instanceof EncodedSlicesAction encoded && encoded.encodedAs() == p.outDType()) {
                    encoded.transferTo(reader, w); // already the output's bytes; their moments are the computing stage's
                } else {
                    MomentAccumulator m = transform(reader, p, w, threads, facts);
                    if (p.action().changesValues()) written.put(p.tensor().name(), m);
                }
            }
            w.finish();
        }
        return new ShardResult(fileName, layout.fileLength(), checked.getChecksum().getValue(), written, facts);
    }

    /**
     * Piece by piece: read (when the action reads), decode, apply, moments, encode, append. A parallel-safe action with
     * {@code threads} > 1 has up to 2 x threads pieces in flight on a pool, while this thread reads and appends in
     * order; their buffers are recycled (a piece's are several MiB: fresh ones per piece were humongous allocations
     * for G1). Otherwise one set of buffers is reused. Pieces' moments merge in order, so both give the same result.
     */
    private static MomentAccumulator transform(RangeReader reader, TransformPlanner.Planned p, SafetensorsWriter w, int threads,
                                               Map<String, Map<String, Object>> facts) throws IOException {
        if (p.action().elementwise() && p.tensor().dtype().byteSize() == 2 && p.tensor().dtype().isDecodable()) return byTable(reader, p, w);
        TensorInfo t = p.tensor();
        TensorAction action = p.action();
        action.open(reader);
        DType in = t.dtype(), out = p.outDType();
        long n = t.elementCount();
        int piece = (int) Math.min(PIECE_ELEMENTS, Math.max(1, n));
        boolean parallel = threads > 1 && action.parallelSafe() && n > piece;
        int sets = parallel ? 2 * threads + 1 : 1; // in flight, plus the one being read
        java.util.ArrayDeque<Buffers> free = new java.util.ArrayDeque<>();
        for (int i = 0; i < sets; i++) {
            free.add(new Buffers(action.needsInput() ? new byte[piece * in.byteSize()] : null, new double[piece], new byte[piece * out.byteSize()]));
        }
        java.util.concurrent.ExecutorService pool = parallel ? java.util.concurrent.Executors.newFixedThreadPool(threads, r -> {
            Thread th = new Thread(r, "shard-transform");
            th.setDaemon(true);
            return th;
        }) : null;
        java.util.ArrayDeque<java.util.concurrent.Future<Piece>> inFlight = new java.util.ArrayDeque<>();
        MomentAccumulator m = new MomentAccumulator();
        try {
            for (long first = 0; first < n; first += piece) {
                int count = (int) Math.min(piece, n - first);
                Buffers b = free.poll(); // never empty: at most 2 x threads sets are in flight here
                if (action.needsInput()) reader.read(t.file(), t.dataBegin() + first * in.byteSize(), b.raw(), 0, count * in.byteSize());
                if (!parallel) {
                    m.merge(transformPiece(in, out, action, first, count, b.raw(), b.values(), b.encoded()));
                    w.write(b.encoded(), 0, count * out.byteSize());
                    free.add(b);
                    continue;
                }
                long f = first;
                inFlight.add(pool.submit(() -> new Piece(b, count * out.byteSize(), transformPiece(in, out, action, f, count, b.raw(), b.values(), b.encoded()))));
                if (inFlight.size() >= 2 * threads) free.add(append(inFlight.poll(), w, m));
            }
            while (!inFlight.isEmpty()) free.add(append(inFlight.poll(), w, m));
            Map<String, Object> found = action.facts();
            if (!found.isEmpty()) facts.put(t.name(), new LinkedHashMap<>(found));
        } finally {
            if (pool != null) pool.shutdownNow();
            action.release();
        }
        return m;
    }

    /** One piece: decode (when the action reads), apply, encode into {@code encoded}; returns the piece's moments before the cast. */
    private static MomentAccumulator transformPiece(DType in, DType out, TensorAction action, long first, int count, byte[] raw,
                                                    double[] values, byte[] encoded) {
        if (action.needsInput()) ElementDecoder.decode(in, raw, 0, count, values, 0);
        action.apply(first, values, count);
        MomentAccumulator m = new MomentAccumulator();
        for (int off = 0; off < count; off += 8192) m.addBlock(values, off, Math.min(8192, count - off));
        ElementEncoder.encode(out, values, 0, count, encoded, 0);
        return m;
    }

    /** One piece's buffers: the stored bytes it reads, its values, its encoded output. */
    private record Buffers(byte[] raw, double[] values, byte[] encoded) {}

    private record Piece(Buffers buffers, int length, MomentAccumulator moments) {}

    /** Appends the oldest piece in order and hands its buffers back. */
    private static Buffers append(java.util.concurrent.Future<Piece> f, SafetensorsWriter w, MomentAccumulator m) throws IOException {
        Piece piece;
        try {
            piece = f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while transforming", e);
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof RuntimeException re) throw re;
            throw new IOException(e.getCause());
        }
        w.write(piece.buffers().encoded(), 0, piece.length());
        m.merge(piece.moments());
        return piece.buffers();
    }

    /**
     * A value-only action on a 16-bit dtype is a function of the 65,536 codes: apply it once per code, then map
     * stored codes to output bytes through the table. Same bytes as the per-element path, at copy speed; the
     * moments before the cast come exactly from the code counts.
     */
    private static MomentAccumulator byTable(RangeReader reader, TransformPlanner.Planned p, SafetensorsWriter w) throws IOException {
        TensorInfo t = p.tensor();
        DType in = t.dtype(), out = p.outDType();
        int codes = 1 << 16, ob = out.byteSize();
        byte[] raw = new byte[2 * codes];
        for (int c = 0; c < codes; c++) {
            raw[2 * c] = (byte) c;
            raw[2 * c + 1] = (byte) (c >>> 8);
        }
        double[] values = new double[codes];
        ElementDecoder.decode(in, raw, 0, codes, values, 0);
        p.action().apply(0, values, codes);
        byte[] table = new byte[codes * ob];
        ElementEncoder.encode(out, values, 0, codes, table, 0);
        long[] counts = new long[codes];
        long n = t.elementCount();
        int piece = (int) Math.min(PIECE_ELEMENTS, Math.max(1, n));
        byte[] inBuf = new byte[piece * 2];
        byte[] outBuf = new byte[piece * ob];
        for (long first = 0; first < n; first += piece) {
            int count = (int) Math.min(piece, n - first);
            reader.read(t.file(), t.dataBegin() + first * 2, inBuf, 0, count * 2);
            if (ob == 2) {
                for (int i = 0; i < count; i++) {
                    int c = (inBuf[2 * i] & 0xff) | (inBuf[2 * i + 1] & 0xff) << 8;
                    counts[c]++;
                    outBuf[2 * i] = table[2 * c];
                    outBuf[2 * i + 1] = table[2 * c + 1];
                }
            } else {
                for (int i = 0; i < count; i++) {
                    int c = (inBuf[2 * i] & 0xff) | (inBuf[2 * i + 1] & 0xff) << 8;
                    counts[c]++;
                    System.arraycopy(table, c * ob, outBuf, i * ob, ob);
                }
            }
            w.write(outBuf, 0, count * ob);
        }
        MomentAccumulator m = new MomentAccumulator();
        m.addHistogram(values, counts);
        return m;
    }
}
