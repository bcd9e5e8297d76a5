package io.weightlab.common.io;

import java.io.IOException;
import java.io.OutputStream;
import java.util.List;

/**
 * Streams one safetensors file: the header, then each tensor's bytes in layout order, in as many pieces as the
 * caller likes, so a tensor never has to be in memory whole. {@link #finish()} checks every byte was supplied.
 */
public final class SafetensorsWriter implements AutoCloseable {
    private final OutputStream out;
    private final SafetensorsLayout layout;
    private final String file;
    private int current = -1;
    private long remainingInCurrent;
    private boolean finished;

    public SafetensorsWriter(OutputStream out, SafetensorsLayout layout, String file) throws IOException {
        this.out = out;
        this.layout = layout;
        this.file = file;
        out.write(layout.headerBytes());
        advance();
    }

    private void advance() {
        List<SafetensorsLayout.Entry> es = layout.entries();
        while (remainingInCurrent == 0 && current + 1 < es.size()) {
            current++;
            SafetensorsLayout.Entry e = es.get(current);
            remainingInCurrent = e.end() - e.begin();
        }
    }

    /** The tensor whose bytes come next, or null when all are written. */
    public SafetensorsLayout.Spec next() {
        return remainingInCurrent > 0 ? layout.entries().get(current).spec() : null;
    }

    /** Appends bytes of the current tensor (they may not run into the next one). */
    public void write(byte[] b, int off, int len) throws IOException {
        if (len > remainingInCurrent) {
            throw new IllegalStateException(file + ": " + len + " bytes given but tensor '"
                    + (next() == null ? "<none>" : next().name()) + "' has only " + remainingInCurrent + " left");
        }
        for (int done = 0; done < len; done += WRITE_SLICE) out.write(b, off + done, Math.min(WRITE_SLICE, len - done));
        remainingInCurrent -= len;
        advance();
    }

    public void write(byte[] b) throws IOException { write(b, 0, b.length); }

    /** Appends {@code len} bytes read from {@code file} at {@code pos}, in bounded pieces (a stored tensor copied through). */
    public void transfer(RangeReader reader, String file, long pos, long len) throws IOException {
        byte[] buf = new byte[(int) Math.min(TRANSFER_BYTES, Math.max(1, len))];
        for (long done = 0; done < len; ) {
            int n = (int) Math.min(buf.length, len - done);
            reader.read(file, pos + done, buf, 0, n);
            write(buf, 0, n);
            done += n;
        }
    }

    private static final int TRANSFER_BYTES = 8 << 20;
    /**
     * Writes reach the stream in slices of at most 1 MiB: the JDK mallocs a native copy of every FileOutputStream write
     * over 8 KiB, and at 4–8 MiB those came as fresh pages each time (262 MB copied at 0.5 GB/s instead of 3.7 GB/s).
     */
    private static final int WRITE_SLICE = 1 << 20;

    /** Flushes and checks completeness; the caller closes or commits the stream. */
    public void finish() throws IOException {
        if (remainingInCurrent != 0) {
            throw new IllegalStateException(file + ": tensor '" + next().name() + "' is missing " + remainingInCurrent + " bytes");
        }
        out.flush();
        finished = true;
    }

    @Override
    public void close() throws IOException {
        try {
            if (!finished) finish();
        } finally {
            out.close();
        }
    }
}
