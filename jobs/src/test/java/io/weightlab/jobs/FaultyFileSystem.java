package io.weightlab.jobs;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FSInputStream;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.apache.hadoop.fs.permission.FsPermission;
import org.apache.hadoop.util.Progressable;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The local file system under {@code faulty://}, with storage faults for tests; production code knows nothing of
 * it. Registered with {@code fs.faulty.impl}. Writes: a file named {@value #FAIL_FILE_KEY} dies after
 * {@value #FAIL_AFTER_BYTES} bytes, as a task killed mid-write would. Reads: every positional read returns at most half
 * of what was asked ({@value #SHORT_KEY}); the N-th read of every opened stream throws ({@value #FAIL_EVERY_KEY};
 * 1 = every read, so a fresh stream fails again); every read first sleeps {@value #SLOW_KEY} ms and returns at most
 * 64 KiB (a slow, trickling store); the N-th read of every stream hangs until the stream is closed under it
 * ({@value #STALL_EVERY_KEY}; a hung connection).
 */
public class FaultyFileSystem extends RawLocalFileSystem {
    public static final String FAIL_FILE_KEY = "weightlab.test.fail-file";
    public static final String SHORT_KEY = "weightlab.test.short-reads";
    public static final String FAIL_EVERY_KEY = "weightlab.test.fail-every-read";
    public static final String SLOW_KEY = "weightlab.test.slow-read-ms";
    public static final String STALL_EVERY_KEY = "weightlab.test.stall-every-read";
    static final long FAIL_AFTER_BYTES = 300_000;
    static final AtomicLong READS = new AtomicLong();

    @Override
    public URI getUri() { return URI.create("faulty:///"); }

    @Override
    public String getScheme() { return "faulty"; }

    @Override
    public void initialize(URI uri, Configuration conf) throws IOException {
        super.initialize(uri, conf);
        setConf(conf);
    }

    @Override
    public FSDataOutputStream create(Path f, boolean overwrite, int bufferSize, short replication, long blockSize,
                                     Progressable progress) throws IOException {
        return maybeDying(f, super.create(f, overwrite, bufferSize, replication, blockSize, progress));
    }

    @Override
    public FSDataOutputStream create(Path f, FsPermission permission, boolean overwrite, int bufferSize, short replication,
                                     long blockSize, Progressable progress) throws IOException {
        return maybeDying(f, super.create(f, permission, overwrite, bufferSize, replication, blockSize, progress));
    }

    private FSDataOutputStream maybeDying(Path f, FSDataOutputStream real) {
        if (!f.getName().equals(getConf().get(FAIL_FILE_KEY))) return real;
        OutputStream dying = new FilterOutputStream(real) {
            long n;

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                if ((n += len) > FAIL_AFTER_BYTES) throw new IOException("injected failure half way through " + f);
                out.write(b, off, len);
            }
        };
        return new FSDataOutputStream(dying, null);
    }

    @Override
    public FSDataInputStream open(Path f, int bufferSize) throws IOException {
        FSDataInputStream real = super.open(f, bufferSize);
        boolean shortReads = getConf().getBoolean(SHORT_KEY, false);
        long every = getConf().getLong(FAIL_EVERY_KEY, 0);
        long slowMs = getConf().getLong(SLOW_KEY, 0);
        long stallEvery = getConf().getLong(STALL_EVERY_KEY, 0);
        if (!shortReads && every == 0 && slowMs == 0 && stallEvery == 0) return real;
        java.util.concurrent.CountDownLatch closed = new java.util.concurrent.CountDownLatch(1);
        return new FSDataInputStream(new FSInputStream() {
            long reads;

            @Override
            public int read(long position, byte[] buffer, int offset, int length) throws IOException {
                READS.incrementAndGet();
                reads++;
                if (every > 0 && reads % every == 0) throw new IOException("injected failure of read #" + reads + " of a stream on " + f);
                if (stallEvery > 0 && reads % stallEvery == 0) {
                    try {
                        if (!closed.await(60, java.util.concurrent.TimeUnit.SECONDS)) throw new IOException("stalled read #" + reads + " never aborted");
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    throw new IOException("Stream closed (injected stall of read #" + reads + " on " + f + ")");
                }
                if (closed.getCount() == 0) throw new IOException("Stream closed");
                int ask = shortReads && length > 1 ? length / 2 : length;
                if (slowMs > 0) {
                    try {
                        Thread.sleep(slowMs);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    ask = Math.min(ask, 64 << 10);
                }
                return real.read(position, buffer, offset, ask);
            }

            @Override
            public void seek(long pos) throws IOException { real.seek(pos); }

            @Override
            public long getPos() throws IOException { return real.getPos(); }

            @Override
            public boolean seekToNewSource(long targetPos) { return false; }

            @Override
            public int read() throws IOException { return real.read(); }

            @Override
            public void close() throws IOException {
                closed.countDown();
                real.close();
            }
        });
    }
}
