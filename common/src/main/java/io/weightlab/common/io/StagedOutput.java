package io.weightlab.common.io;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * An output directory that only ever shows a complete result. Everything is written under
 * {@code <out>/_temporary/<run>/}; {@link #commit()} moves it into place and writes {@code _SUCCESS} last, so
 * a reader that waits for {@code _SUCCESS} (ours do) never takes a half-written output for a result.
 * An existing committed result is replaced only with {@code overwrite}, and only at commit time, so a failed
 * run loses nothing.
 */
public final class StagedOutput {
    public static final String SUCCESS = "_SUCCESS";
    public static final String TEMPORARY = "_temporary";

    private final FileSystem fs;
    private final Path out;
    private final Path staging;
    private final boolean overwrite;
    private final boolean createdOut;
    private boolean done;

    private StagedOutput(FileSystem fs, Path out, Path staging, boolean overwrite, boolean createdOut) {
        this.fs = fs;
        this.out = out;
        this.staging = staging;
        this.overwrite = overwrite;
        this.createdOut = createdOut;
    }

    public static StagedOutput begin(Configuration conf, String outUri, boolean overwrite) {
        Path out = new Path(outUri);
        try {
            FileSystem fs = out.getFileSystem(conf);
            boolean exists = fs.exists(out);
            if (exists) {
                FileStatus st = fs.getFileStatus(out);
                if (st.isFile()) throw new UsageException(outUri + ": the output must be a directory, this is a file");
                boolean committed = fs.exists(new Path(out, SUCCESS));
                boolean foreign = false;
                for (FileStatus c : fs.listStatus(out)) {
                    if (!c.getPath().getName().startsWith("_")) foreign |= !committed;
                }
                if (committed && !overwrite) {
                    throw new UsageException(outUri + ": already holds a committed result (" + SUCCESS
                            + " present); pass --overwrite to replace it");
                }
                if (foreign) {
                    throw new UsageException(outUri + ": the directory is not empty and holds no WeightLab result; "
                            + "choose an empty or new output directory");
                }
            }
            Path staging = new Path(new Path(out, TEMPORARY), UUID.randomUUID().toString());
            if (!fs.mkdirs(staging)) throw new WeightLabException(outUri + ": cannot create the staging directory " + staging);
            return new StagedOutput(fs, fs.makeQualified(out), fs.makeQualified(staging), overwrite, !exists);
        } catch (IOException e) {
            throw new WeightLabException(outUri + ": cannot prepare the output: " + e.getMessage(), e);
        }
    }

    /** Where a result file or directory is written before commit. */
    public Path staged(String relative) {
        return new Path(staging, relative);
    }

    public FSDataOutputStream create(String relative) throws IOException {
        return fs.create(staged(relative), false);
    }

    public void writeString(String relative, String content) throws IOException {
        try (FSDataOutputStream o = create(relative)) {
            o.write(content.getBytes(StandardCharsets.UTF_8));
        }
    }

    /** The final location of a committed file. */
    public Path finalPath(String relative) {
        return new Path(out, relative);
    }

    public FileSystem fileSystem() { return fs; }

    public Path outputDir() { return out; }

    /**
     * Moves the staged files into place and writes {@code _SUCCESS} last. A result being replaced is first moved
     * aside (not deleted) and removed only once the new one is complete; if moving the new files in fails, the
     * previous result is moved back.
     */
    public void commit() {
        Path previous = new Path(staging.getParent(), staging.getName() + "-previous");
        List<String> aside = new ArrayList<>();
        List<String> moved = new ArrayList<>();
        try {
            if (overwrite) {
                fs.delete(new Path(out, SUCCESS), false);
                fs.mkdirs(previous);
                for (FileStatus c : fs.listStatus(out)) {
                    String name = c.getPath().getName();
                    if (name.startsWith("_")) continue;
                    move(c.getPath(), new Path(previous, name));
                    aside.add(name);
                }
            }
            for (FileStatus c : fs.listStatus(staging)) {
                String name = c.getPath().getName();
                if (name.startsWith(".") && name.endsWith(".crc")) continue;
                move(c.getPath(), new Path(out, name));
                moved.add(name);
            }
        } catch (IOException e) {
            try {
                for (String name : moved) fs.delete(new Path(out, name), true);
                for (String name : aside) move(new Path(previous, name), new Path(out, name));
                if (!aside.isEmpty()) writeSuccess(aside.size());
            } catch (IOException restore) {
                e.addSuppressed(restore);
            }
            throw new WeightLabException(out + ": commit failed (" + e.getMessage() + "); "
                    + (aside.isEmpty() ? "nothing was left behind" : "the previous result was restored"), e);
        }
        try {
            writeSuccess(moved.size());
            done = true;
            fs.delete(previous, true);
            deleteStaging();
        } catch (IOException e) {
            throw new WeightLabException(out + ": commit failed: " + e.getMessage(), e);
        }
    }

    private void move(Path from, Path to) throws IOException {
        if (!fs.rename(from, to)) throw new IOException("rename " + from + " -> " + to + " failed");
    }

    private void writeSuccess(int files) throws IOException {
        try (FSDataOutputStream o = fs.create(new Path(out, SUCCESS), true)) {
            o.write(("{\"writer\":\"weightlab\",\"files\":" + files + "}\n").getBytes(StandardCharsets.UTF_8));
        }
    }

    /** Removes everything this run wrote; leaves a previous committed result untouched. */
    public void abort() {
        if (done) return;
        try {
            deleteStaging();
            if (createdOut) {
                FileStatus[] left = fs.listStatus(out);
                if (left.length == 0) fs.delete(out, false);
            }
        } catch (IOException ignored) {
            // best effort: the staging directory is invisible to readers anyway
        }
        done = true;
    }

    private void deleteStaging() throws IOException {
        fs.delete(staging, true);
        Path tmp = staging.getParent();
        try {
            if (fs.listStatus(tmp).length == 0) fs.delete(tmp, false);
        } catch (FileNotFoundException ignored) {
            // already gone
        }
    }
}
