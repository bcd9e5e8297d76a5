package io.weightlab.common.io;

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
 * stream per file for the life of a task; not thread-safe.
 */
public final class RangeReader implements Closeable {
    private final Configuration conf;
    private final Map<String, FSDataInputStream> open = new HashMap<>();
    private long bytesRead;

    public RangeReader(Configuration conf) {
        this.conf = conf;
    }

    /** Reads {@code len} bytes of {@code file} at {@code pos} into {@code buf[off..]}. */
    public void read(String file, long pos, byte[] buf, int off, int len) {
        try {
            FSDataInputStream in = open.get(file);
            if (in == null) {
                Path p = new Path(file);
                in = p.getFileSystem(conf).open(p);
                open.put(file, in);
            }
            in.readFully(pos, buf, off, len);
            bytesRead += len;
        } catch (EOFException e) {
            throw new CheckpointFormatException(file, null, "ShortRead",
                    "file ended before byte " + (pos + len) + " (truncated or rewritten since its header was read?)");
        } catch (IOException e) {
            throw new WeightLabException(file + ": read of bytes [" + pos + ", " + (pos + len) + ") failed: " + e.getMessage(), e);
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
        for (FSDataInputStream in : open.values()) {
            try {
                in.close();
            } catch (IOException ignored) {
                // closing a read stream: nothing to lose
            }
        }
        open.clear();
    }
}
