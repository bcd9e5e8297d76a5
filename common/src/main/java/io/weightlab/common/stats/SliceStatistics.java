package io.weightlab.common.stats;

import io.weightlab.common.model.DType;
import io.weightlab.common.io.ElementDecoder;
import io.weightlab.common.io.RangeReader;

/**
 * Computes the partial statistics of one {@link StatsUnit}: reads its byte range in bounded pieces, decodes,
 * dequantizes when asked, and feeds the moment accumulator and the quantile summary.
 * Memory per thread: one read buffer of {@link #READ_BYTES} plus its decoded doubles, kept for its next slice.
 */
public final class SliceStatistics {
    /** Bytes read per positional read. */
    public static final int READ_BYTES = 4 << 20;
    /** Values reduced around their own mean before a Pébay merge: small enough to stay in L1/L2 cache. */
    static final int MOMENT_BLOCK = 8192;

    private SliceStatistics() {}

    public static TensorPartial compute(RangeReader reader, StatsUnit unit) {
        DType dtype = unit.tensor().dtype();
        if (!dtype.isDecodable()) throw new ElementDecoder.UnsupportedDTypeException(dtype);
        boolean raw = unit.dequantization() == null;
        MomentAccumulator moments = new MomentAccumulator();
        QuantileSummary quantiles = QuantileSummary.forType(dtype, raw);
        if (!raw) unit.dequantization().load(reader);
        if (quantiles.isExact()) {
            // 8/16-bit stored values: count bit patterns only; the exact moments come from the counts.
            forEachRawPiece(reader, unit, (buf, first, count) -> quantiles.addRaw(buf, 0, count));
            quantiles.compact();
            return new TensorPartial(quantiles.moments(), quantiles);
        }
        forEachPiece(reader, unit, (values, count) -> addDecoded(values, count, moments, quantiles));
        quantiles.compact();
        return new TensorPartial(moments, quantiles);
    }

    /**
     * Decoded values into the moments and the buckets, block by block, so the bucket pass reads values still in
     * cache from the moment pass, and skips its finiteness test where the moment pass found every value finite.
     */
    static void addDecoded(double[] values, int count, MomentAccumulator moments, QuantileSummary quantiles) {
        for (int off = 0; off < count; off += MOMENT_BLOCK) {
            int len = Math.min(MOMENT_BLOCK, count - off);
            if (moments.addBlock(values, off, len)) quantiles.addFiniteValues(values, off, len);
            else quantiles.addValues(values, off, len);
        }
    }

    /** The unit's values summarised for the generalized-Gaussian MLE around its tensor's mean (one more pass). */
    public static LogPowerTable logPowerTable(RangeReader reader, StatsUnit unit, double mu) {
        LogPowerTable table = new LogPowerTable(mu);
        if (unit.dequantization() != null) unit.dequantization().load(reader);
        forEachPiece(reader, unit, (values, count) -> table.add(values, 0, count));
        return table;
    }

    /** Receives each decoded piece; the array is reused for the next piece. */
    public interface PieceSink {
        void accept(double[] values, int count);
    }

    /** Receives each piece of stored bytes: {@code count} elements starting at element {@code first}; the buffer is reused. */
    interface RawSink {
        void accept(byte[] bytes, long first, int count);
    }

    /**
     * A thread's read and decode buffers, kept for its next slice (at most {@link #READ_BYTES} and its doubles: 12 MiB
     * for float32). Why: fresh ones per slice were 600 MB of allocation per MiniLM-sized checkpoint, a third of the
     * kernel's time per value (BENCHMARKS.md, fleet). Sinks never keep the arrays they are given.
     */
    private static final ThreadLocal<byte[]> RAW = new ThreadLocal<>();
    private static final ThreadLocal<double[]> DECODED = new ThreadLocal<>();

    private static byte[] rawBuffer(int length) {
        byte[] b = RAW.get();
        if (b == null || b.length < length) RAW.set(b = new byte[length]);
        return b;
    }

    private static double[] decodedBuffer(int length) {
        double[] d = DECODED.get();
        if (d == null || d.length < length) DECODED.set(d = new double[length]);
        return d;
    }

    /** Reads the unit's stored bytes in pieces of at most {@link #READ_BYTES}, one buffer for all. */
    static void forEachRawPiece(RangeReader reader, StatsUnit unit, RawSink sink) {
        int size = unit.tensor().dtype().byteSize();
        int piece = Math.max(1, READ_BYTES / size);
        int perRead = (int) Math.min((long) piece * size, Math.max(size, unit.byteLength())) / size;
        byte[] buf = rawBuffer(perRead * size);
        long pos = unit.byteBegin();
        for (long e = unit.firstElement(); e < unit.endElement(); ) {
            int count = (int) Math.min(perRead, unit.endElement() - e);
            reader.read(unit.tensor().file(), pos, buf, 0, count * size);
            sink.accept(buf, e, count);
            pos += (long) count * size;
            e += count;
        }
    }

    /** As {@link #forEachRawPiece}, decoded and dequantized (dequantization already loaded). */
    static void forEachPiece(RangeReader reader, StatsUnit unit, PieceSink sink) {
        DType dtype = unit.tensor().dtype();
        long rowElements = Math.max(1, unit.tensor().rowElements());
        double[] values = decodedBuffer((int) Math.min(Math.max(1, READ_BYTES / dtype.byteSize()), Math.max(1, unit.endElement() - unit.firstElement())));
        forEachRawPiece(reader, unit, (buf, first, count) -> {
            ElementDecoder.decode(dtype, buf, 0, count, values, 0);
            if (unit.dequantization() != null) unit.dequantization().apply(values, count, first, rowElements);
            sink.accept(values, count);
        });
    }
}
