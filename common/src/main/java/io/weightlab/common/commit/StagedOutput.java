package io.weightlab.common.commit;

import io.weightlab.common.error.UsageException;
import io.weightlab.common.error.WeightLabException;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.UUID;

/**
 * An output directory that only ever shows a complete result, committed with {@code _SUCCESS} written last.
 * <ul>
 *   <li><b>rename</b> (file://, hdfs://, where rename is a cheap metadata operation): everything is written under
 *   {@code <out>/_temporary/<run>/}; {@link #commit()} moves it into place (index files last) and writes
 *   {@code _SUCCESS}. An existing result is replaced only with {@code overwrite}, and only at commit time.</li>
 *   <li><b>direct</b> (s3a:// and other object stores, where rename is a copy): files are written in place while
 *   {@code _temporary/<run>} marks the directory as being written; the job writes its index last, then
 *   {@code _SUCCESS}. With {@code overwrite} the previous result is removed when the run starts.</li>
 * </ul>
 * Readers (ours: {@link CheckpointCatalog}) refuse a directory that has {@code _temporary} and no {@code _SUCCESS}.
 * Leftovers of a run that died are cleared by the next run into the same directory.
 */
public final class StagedOutput {
    public static final String SUCCESS = "_SUCCESS";
    public static final String TEMPORARY = "_temporary";
    /** Hadoop conf key forcing the commit protocol: "rename" or "direct" (default: by scheme). */
    public static final String COMMIT_KEY = "weightlab.output.commit";
    private static final Set<String> OBJECT_STORES = Set.of("s3a", "s3", "s3n", "gs", "oss", "cos", "cosn", "obs");

    private final FileSystem fs;
    private final Path out;
    private final Path staging;
    private final boolean overwrite;
    private final boolean createdOut;
    private final boolean direct;
    private final Set<String> written = new LinkedHashSet<>();
    private boolean done;
    private boolean aborted;
    private boolean resumed;
    /** Where {@link #scratch} files live, relative to the staging directory (for {@link #completed} and markers). */
    public static final String SCRATCH = "_scratch/";
    static final String RESUME_KEY = "_scratch/resume.key";
    static final String DONE = "_scratch/done/";

    private StagedOutput(FileSystem fs, Path out, Path staging, boolean overwrite, boolean createdOut, boolean direct) {
        this.fs = fs;
        this.out = out;
        this.staging = staging;
        this.overwrite = overwrite;
        this.createdOut = createdOut;
        this.direct = direct;
    }

    public static StagedOutput begin(Configuration conf, String outUri, boolean overwrite) {
        return begin(conf, outUri, overwrite, null);
    }

    /**
     * As {@link #begin(Configuration, String, boolean)}; with a {@code resumeKey} (a fingerprint of everything the
     * output depends on) a dead run's staging directory with the same key is taken over: the files it completed
     * (see {@link #markCompleted}) are kept and everything else in it is deleted, so the job writes only what is
     * missing and commits the same result. Rename commits only; object stores start afresh.
     */
    public static StagedOutput begin(Configuration conf, String outUri, boolean overwrite, String resumeKey) {
        Path out = new Path(outUri);
        try {
            FileSystem fs = out.getFileSystem(conf);
            fs.setWriteChecksum(false); // no .crc side files beside results on the local file system
            boolean direct = isDirect(conf, fs);
            boolean exists = fs.exists(out);
            if (exists) {
                FileStatus st = fs.getFileStatus(out);
                if (st.isFile()) throw new UsageException(outUri + ": the output must be a directory, this is a file");
                boolean committed = fs.exists(new Path(out, SUCCESS));
                boolean incomplete = !committed && fs.exists(new Path(out, TEMPORARY));
                boolean visible = false;
                for (FileStatus c : fs.listStatus(out)) visible |= !c.getPath().getName().startsWith("_");
                if (committed && !overwrite) {
                    throw new UsageException(outUri + ": already holds a committed result (" + SUCCESS
                            + " present); pass --overwrite to replace it");
                }
                if (visible && !committed && !incomplete) {
                    throw new UsageException(outUri + ": the directory is not empty and holds no WeightLab result; "
                            + "choose an empty or new output directory");
                }
                // A run that died here left files without _SUCCESS: they are ours, and never were a result.
                if (incomplete) clearVisible(fs, out);
                if (incomplete && resumeKey != null && !direct) {
                    StagedOutput taken = takeOver(fs, out, resumeKey, overwrite);
                    if (taken != null) return taken;
                }
                if (direct && committed) {
                    fs.delete(new Path(out, SUCCESS), false);
                    clearVisible(fs, out);
                }
            }
            Path staging = new Path(new Path(out, TEMPORARY), UUID.randomUUID().toString());
            if (!fs.mkdirs(staging)) throw new WeightLabException(outUri + ": cannot create the staging directory " + staging);
            if (resumeKey != null && !direct) {
                try (FSDataOutputStream o = fs.create(new Path(staging, RESUME_KEY), true)) {
                    o.write(resumeKey.getBytes(StandardCharsets.UTF_8));
                }
            }
            return new StagedOutput(fs, fs.makeQualified(out), fs.makeQualified(staging), overwrite, !exists, direct);
        } catch (IOException e) {
            throw new WeightLabException(outUri + ": cannot prepare the output: " + e.getMessage(), e);
        }
    }

    /** The dead run's staging with this key, cleaned down to its completed files and their markers, or null. */
    private static StagedOutput takeOver(FileSystem fs, Path out, String key, boolean overwrite) throws IOException {
        for (FileStatus run : fs.listStatus(new Path(out, TEMPORARY))) {
            Path keyFile = new Path(run.getPath(), RESUME_KEY);
            if (!run.isDirectory() || !fs.exists(keyFile)) continue;
            String k;
            try (var in = fs.open(keyFile)) {
                k = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
            if (!k.equals(key)) continue;
            Set<String> keep = new java.util.HashSet<>();
            Path done = new Path(run.getPath(), DONE);
            if (fs.exists(done)) {
                var it = fs.listFiles(done, true);
                while (it.hasNext()) {
                    Path marker = it.next().getPath();
                    String rel = marker.toUri().getPath().substring(fs.makeQualified(done).toUri().getPath().length() + 1);
                    keep.add(rel.substring(0, rel.length() - ".done".length()));
                }
            }
            var all = fs.listFiles(run.getPath(), true);
            java.util.List<Path> delete = new java.util.ArrayList<>();
            String root = fs.makeQualified(run.getPath()).toUri().getPath() + "/";
            while (all.hasNext()) {
                Path p = all.next().getPath();
                String rel = p.toUri().getPath().substring(root.length());
                if (!rel.equals(RESUME_KEY) && !rel.startsWith(DONE) && !keep.contains(rel)) delete.add(p);
            }
            for (Path p : delete) fs.delete(p, false);
            StagedOutput s = new StagedOutput(fs, fs.makeQualified(out), fs.makeQualified(run.getPath()), overwrite, false, false);
            s.resumed = true;
            return s;
        }
        return null;
    }

    /** Whether this run took over a dead run's staging ({@link #begin(Configuration, String, boolean, String)}). */
    public boolean isResumed() { return resumed; }

    /** Where the marker of a completed staged file goes: written by whoever finished the file, last. */
    public Path completionMarker(String relative) {
        return new Path(staging, DONE + relative + ".done");
    }

    /** The marker's bytes if a taken-over run completed {@code relative}, else null. */
    public byte[] completed(String relative) {
        if (!resumed) return null;
        try {
            Path m = completionMarker(relative);
            if (!fs.exists(m) || !fs.exists(new Path(staging, relative))) return null;
            try (var in = fs.open(m)) {
                return in.readAllBytes();
            }
        } catch (IOException e) {
            return null;
        }
    }

    private static boolean isDirect(Configuration conf, FileSystem fs) {
        String forced = conf.get(COMMIT_KEY, "auto").toLowerCase(Locale.ROOT);
        return switch (forced) {
            case "direct" -> true;
            case "rename" -> false;
            default -> OBJECT_STORES.contains(fs.getUri().getScheme());
        };
    }

    private static void clearVisible(FileSystem fs, Path out) throws IOException {
        for (FileStatus c : fs.listStatus(out)) {
            if (!c.getPath().getName().startsWith("_")) fs.delete(c.getPath(), true);
        }
    }

    /** Whether files are written in place (object stores) rather than staged and renamed. */
    public boolean isDirect() { return direct; }

    /** Where a result file or directory is written before commit (in place, for direct commits). */
    public Path staged(String relative) {
        written.add(relative);
        return direct ? new Path(out, relative) : new Path(staging, relative);
    }

    /** The staged location of {@code relative} (a result or {@link #SCRATCH} file), for reading it back. */
    public Path stagedFile(String relative) {
        return direct && !relative.startsWith(SCRATCH) ? new Path(out, relative) : new Path(staging, relative);
    }

    /** A path for intermediate files of this run: always under the staging directory, never committed. */
    public Path scratch(String relative) {
        return new Path(new Path(staging, "_scratch"), relative);
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
     * Makes the result visible, {@code _SUCCESS} last. Rename mode: a result being replaced is first moved aside
     * (not deleted) and removed only once the new one is complete; if moving the new files in fails, the previous
     * result is moved back. Index files are moved after every other file.
     */
    /** The part of a job that writes into this output. */
    public interface Body<T> {
        T run() throws IOException;
    }

    /**
     * Runs {@code body}, then commits. On any failure the output is aborted (nothing of this run stays where a reader
     * would take it for a result) and the error rethrown; an IOException becomes a WeightLabException naming the
     * output and {@code what} was being written.
     */
    public <T> T commitAfter(String what, Body<T> body) {
        try {
            T result = body.run();
            commit();
            return result;
        } catch (IOException e) {
            abort();
            throw new WeightLabException(out + ": writing " + what + " failed: " + e.getMessage(), e);
        } catch (Exception e) { // also a failed Spark task's SparkException, which Scala throws unchecked
            abort();
            throw e;
        }
    }

    public void commit() {
        if (direct) {
            try {
                writeSuccess(written.size());
                done = true;
                fs.delete(new Path(out, TEMPORARY), true);
            } catch (IOException e) {
                throw new WeightLabException(out + ": commit failed: " + e.getMessage(), e);
            }
            return;
        }
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
            List<FileStatus> entries = new ArrayList<>(List.of(fs.listStatus(staging)));
            entries.sort((a, b) -> Boolean.compare(isIndex(a.getPath().getName()), isIndex(b.getPath().getName())));
            for (FileStatus c : entries) {
                String name = c.getPath().getName();
                if ((name.startsWith(".") && name.endsWith(".crc")) || name.startsWith("_")) continue;
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
            // Staging of this run, the replaced result, and leftovers of runs that died: all gone with _temporary.
            fs.delete(new Path(out, TEMPORARY), true);
        } catch (IOException e) {
            throw new WeightLabException(out + ": commit failed: " + e.getMessage(), e);
        }
    }

    /** Index files are committed after every other file, so an index never names a shard not yet in place. */
    static boolean isIndex(String name) {
        return name.endsWith(".index.json");
    }

    /** The order {@link #commit()} moves staged names in. */
    static List<String> commitOrder(List<String> names) {
        List<String> l = new ArrayList<>(names);
        l.sort((a, b) -> Boolean.compare(isIndex(a), isIndex(b)));
        return l;
    }

    private void move(Path from, Path to) throws IOException {
        if (!fs.rename(from, to)) throw new IOException("rename " + from + " -> " + to + " failed");
    }

    private void writeSuccess(int files) throws IOException {
        try (FSDataOutputStream o = fs.create(new Path(out, SUCCESS), true)) {
            o.write(("{\"writer\":\"weightlab\",\"files\":" + files + "}\n").getBytes(StandardCharsets.UTF_8));
        }
    }

    /** Removes everything this run wrote; leaves a previous committed result (rename mode) untouched. */
    public void abort() {
        if (done) return;
        try {
            if (direct) {
                for (String rel : written) fs.delete(new Path(out, rel), true);
            }
            deleteStaging();
            if (createdOut) {
                FileStatus[] left = fs.listStatus(out);
                if (left.length == 0) fs.delete(out, false);
            }
        } catch (IOException ignored) {
            // best effort: without _SUCCESS readers never take what is left for a result
        }
        done = true;
        aborted = true;
    }

    /**
     * After {@link #abort()}: removes the staging again, for a writer that was still finishing a file (a cancelled
     * Spark task writing its completion marker) when the abort ran. Never touches a committed output. Returns whether
     * anything had reappeared.
     */
    public boolean sweepAbandoned() {
        if (!aborted) return false;
        try {
            boolean found = fs.exists(staging) || fs.exists(new Path(out, TEMPORARY));
            deleteStaging();
            if (createdOut && fs.exists(out) && fs.listStatus(out).length == 0) fs.delete(out, false);
            return found;
        } catch (IOException ignored) {
            return true; // best effort, as abort
        }
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
