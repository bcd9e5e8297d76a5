package io.weightlab.common.commit;

import io.weightlab.common.io.Checkpoint;

import io.weightlab.common.model.TensorInfo;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The fingerprint a {@code --resume} run must share with the dead run whose staging it takes over: every input file
 * (path, length, modification time, tensor table) and every option that changes a written byte. Anything else
 * (the output path, --overwrite, --resume itself) must stay out of it.
 */
public final class ResumeKey {
    private final Configuration conf;
    private final StringBuilder text = new StringBuilder();

    private ResumeKey(Configuration conf, String job) {
        this.conf = conf;
        text.append(job).append('\n');
    }

    public static ResumeKey of(Configuration conf, String job) {
        return new ResumeKey(conf, job);
    }

    /** The checkpoint's files as they are now: a file rewritten in place with the same length still changes the key. */
    public ResumeKey checkpoint(Checkpoint c) {
        if (c == null) return add("-");
        text.append(c.root()).append('\n');
        for (Checkpoint.Shard s : c.shards()) {
            text.append(s.file()).append(' ').append(s.length()).append(' ').append(modificationTime(s.file())).append('\n');
        }
        for (TensorInfo t : c.tensors()) text.append(t).append('\n');
        return this;
    }

    public ResumeKey add(Object value) {
        text.append(value).append('\n');
        return this;
    }

    public String hash() {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(text.toString().getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(h);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private long modificationTime(String file) {
        try {
            Path p = new Path(file);
            FileStatus st = p.getFileSystem(conf).getFileStatus(p);
            return st.getModificationTime();
        } catch (IOException e) {
            return -1; // unreadable now: the job fails on it later with its own message
        }
    }
}
