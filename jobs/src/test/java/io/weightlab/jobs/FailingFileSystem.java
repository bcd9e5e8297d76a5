package io.weightlab.jobs;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.apache.hadoop.fs.permission.FsPermission;
import org.apache.hadoop.util.Progressable;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;

/**
 * The local file system under the scheme {@code failing://}, except that a file whose name is
 * {@value #FAIL_FILE_KEY} in the configuration dies after {@value #FAIL_AFTER_BYTES} bytes, the way a task killed
 * mid-write would. Registered with {@code fs.failing.impl}; production code knows nothing of it.
 */
public class FailingFileSystem extends RawLocalFileSystem {
    public static final String FAIL_FILE_KEY = "weightlab.test.fail-file";
    static final long FAIL_AFTER_BYTES = 300_000;

    @Override
    public URI getUri() { return URI.create("failing:///"); }

    @Override
    public String getScheme() { return "failing"; }

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
}
