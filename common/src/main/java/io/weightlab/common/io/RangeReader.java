package io.weightlab.common.io;

import io.weightlab.common.error.CheckpointFormatException;
import io.weightlab.common.error.WeightLabException;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.Path;

import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;

/**
 * Positional reads of exact byte ranges through the Hadoop FileSystem (a ranged GET on s3a://). Keeps one open
 * stream per file for the life of a task; not thread-safe. A read is idempotent, so an IOException is retried on a
 * fresh stream ({@value #RETRIES_KEY}, default 3, with a short back-off); a file that ends early is not retried
 * (it is truncated, or changed since its header was read) and is reported as such. A read that stalls longer than
 * {@value #TIMEOUT_KEY} (default 5 minutes; 0: never) has its stream closed under it by a watchdog, which fails
 * the blocked read, and is retried like any other failed read: a hung connection costs a retry, never the job.
 * Local files are read through the raw local file system unless {@value #VERIFY_LOCAL_CRC_KEY} is set.
 */
public final class RangeReader implements Closeable {
    public static final String RETRIES_KEY = "weightlab.read.retries";
    public static final String TIMEOUT_KEY = "weightlab.read.timeout-ms";
    /** true: local files are read through Hadoop's checksummed LocalFileSystem, which verifies .crc sidecars where present. */
    public static final String VERIFY_LOCAL_CRC_KEY = "weightlab.read.verify-local-crc";
    private static final java.util.concurrent.ScheduledExecutorService WATCHDOG = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "weightlab-read-watchdog");
        t.setDaemon(true);
        return t;
    });
    private final Configuration conf;
    private final int retries;
    private final long timeoutMs;
    private final Map<String, FSDataInputStream> open = new HashMap<>();
    private long bytesRead;

    public RangeReader(Configuration conf) {
        this.conf = conf;
        this.retries = Math.max(0, conf.getInt(RETRIES_KEY, 3));
        this.timeoutMs = Math.max(0, conf.getLong(TIMEOUT_KEY, 300_000));
    }

    /** Reads {@code len} bytes of {@code file} at {@code pos} into {@code buf[off..]}. */
    public void read(String file, long pos, byte[] buf, int off, int len) {
        for (int attempt = 0; ; attempt++) {
            try {
                FSDataInputStream in = open.get(file);
                if (in == null) {
                    Path p = new Path(file);
                    org.apache.hadoop.fs.FileSystem fs = p.getFileSystem(conf);
                    // Hadoop's checksummed local file system opens a new checker stream for every positional read
                    // (3x slower than the raw one here, BENCHMARKS.md); local checkpoints carry no .crc to verify
                    if (fs instanceof org.apache.hadoop.fs.LocalFileSystem local && !conf.getBoolean(VERIFY_LOCAL_CRC_KEY, false)) fs = local.getRaw();
                    in = fs.open(p);
                    open.put(file, in);
                }
                readWithin(in, file, pos, buf, off, len);
                bytesRead += len;
                return;
            } catch (EOFException e) {
                throw new CheckpointFormatException(file, null, "ShortRead",
                        "file ended before byte " + (pos + len) + " (truncated or rewritten since its header was read?)");
            } catch (IOException e) {
                if (attempt >= retries) {
                    throw new WeightLabException(file + ": read of bytes [" + pos + ", " + (pos + len) + ") failed after " + (attempt + 1)
                            + " attempt(s): " + e.getMessage(), e);
                }
                closeQuietly(open.remove(file)); // a fresh stream for the retry
                try {
                    Thread.sleep(50L << attempt);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw new WeightLabException(file + ": interrupted while retrying a read", ie);
                }
            }
        }
    }

    /** readFully, with the watchdog closing the stream if it takes longer than the timeout. */
    private void readWithin(FSDataInputStream in, String file, long pos, byte[] buf, int off, int len) throws IOException {
        if (timeoutMs == 0) {
            in.readFully(pos, buf, off, len);
            return;
        }
        java.util.concurrent.atomic.AtomicBoolean fired = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.ScheduledFuture<?> dog = WATCHDOG.schedule(() -> {
            fired.set(true);
            closeQuietly(in);
        }, timeoutMs, java.util.concurrent.TimeUnit.MILLISECONDS);
        try {
            in.readFully(pos, buf, off, len);
        } catch (IOException e) {
            if (fired.get()) throw new IOException("the read stalled for more than " + timeoutMs + " ms (" + TIMEOUT_KEY + ") and was aborted", e);
            throw e;
        } finally {
            dog.cancel(false);
        }
        if (fired.get()) throw new IOException("the read stalled for more than " + timeoutMs + " ms (" + TIMEOUT_KEY + ") and was aborted");
    }

    private static void closeQuietly(FSDataInputStream in) {
        if (in == null) return;
        try {
            in.close();
        } catch (IOException ignored) {
            // the stream already failed
        }
    }

    public byte[] read(String file, long pos, int len) {
        byte[] b = new byte[len];
        read(file, pos, b, 0, len);
        return b;
    }

    public long bytesRead() { return bytesRead; }

    @Override
    public void close() {
        for (FSDataInputStream in : open.values()) closeQuietly(in);
        open.clear();
    }
}
