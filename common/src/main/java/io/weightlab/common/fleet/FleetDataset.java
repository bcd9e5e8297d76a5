package io.weightlab.common.fleet;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.weightlab.common.commit.StagedOutput;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.error.WeightLabException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A fleet's Parquet dataset (docs/fleet.md): {@code model=<label>/step=<n>/part-<key>-<identity>.zstd.parquet}, one
 * file per checkpoint, so committing a checkpoint is one rename (its rows are all there or none) and the listing of
 * the dataset is its own index of what was analysed. A file is written under {@code _temporary/<run>/} and renamed
 * into its partition when complete; afterwards the file of an older identity of the same checkpoint is deleted.
 * Readers skip {@code _}-prefixed paths (Spark, pyarrow), so staging, {@code _fleet/runs/} (one JSON record per run)
 * and {@code _SUCCESS} are invisible to queries. One run at a time per dataset.
 */
public final class FleetDataset {
    /** How a run treats a dataset that already holds rows. */
    public enum Mode { CREATE, APPEND, OVERWRITE }

    public static final String RUNS = "_fleet/runs";
    /** Names the job whose rows the dataset holds (stats, spectrum, compare...): one table per dataset. */
    public static final String JOB = "_fleet/job";

    /** A committed checkpoint file. */
    public record Committed(CheckpointIdentity id, Path file) {}

    private final FileSystem fs;
    private final Path out;
    private final Path staging;
    private final Mode mode;
    private final Map<String, List<Committed>> committed;
    private final boolean createdOut;

    private FleetDataset(FileSystem fs, Path out, Path staging, Mode mode, Map<String, List<Committed>> committed, boolean createdOut) {
        this.createdOut = createdOut;
        this.fs = fs;
        this.out = out;
        this.staging = staging;
        this.mode = mode;
        this.committed = committed;
    }

    /**
     * Opens {@code outUri} for a run of {@code job}: refuses a file, a directory that holds something other than a
     * fleet dataset, another job's dataset (its rows would be a second table in one dataset), and (in CREATE mode) an
     * existing dataset; clears a dead run's staging; lists the committed checkpoints.
     */
    public static FleetDataset begin(Configuration conf, String outUri, Mode mode, String runId, String job) {
        Path out = new Path(outUri);
        try {
            FileSystem fs = out.getFileSystem(conf);
            fs.setWriteChecksum(false);
            boolean existed = fs.exists(out);
            if (existed) {
                FileStatus st = fs.getFileStatus(out);
                if (st.isFile()) throw new UsageException(outUri + ": the output must be a directory, this is a file");
                boolean fleet = fs.exists(new Path(out, "_fleet"));
                boolean visible = false;
                for (FileStatus c : fs.listStatus(out)) visible |= !c.getPath().getName().startsWith("_");
                if (visible && !fleet) {
                    throw new UsageException(outUri + ": the directory holds something other than a fleet dataset; "
                            + "choose an empty or new output directory");
                }
                String holds = fleet ? jobOf(fs, out) : null;
                if (holds != null && !holds.equals(job)) {
                    throw new UsageException(outUri + ": holds a `" + holds + "` fleet dataset; a `" + job + "` run would mix a second "
                            + "table into it; choose another --out");
                }
                if (fleet && mode == Mode.CREATE) {
                    throw new UsageException(outUri + ": already holds a fleet dataset; pass --append to analyse only new or "
                            + "changed checkpoints, or --overwrite to analyse every input again");
                }
                // a dead run's staged files never were committed rows
                fs.delete(new Path(out, StagedOutput.TEMPORARY), true);
            }
            Path staging = new Path(new Path(out, StagedOutput.TEMPORARY), runId);
            if (!fs.mkdirs(staging) || !fs.mkdirs(new Path(out, RUNS))) {
                throw new WeightLabException(outUri + ": cannot create the staging directory " + staging);
            }
            // before any row is committed: a first run killed part way still names its job
            if (!fs.exists(new Path(out, JOB))) {
                try (FSDataOutputStream o = fs.create(new Path(out, JOB), true)) {
                    o.write((job + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8));
                }
            }
            Path q = fs.makeQualified(out);
            return new FleetDataset(fs, q, fs.makeQualified(staging), mode, scan(fs, q), !existed);
        } catch (IOException e) {
            throw new WeightLabException(outUri + ": cannot prepare the fleet dataset: " + e.getMessage(), e);
        }
    }

    /**
     * The job whose rows a dataset holds: {@code _fleet/job}, or, for a dataset written before that file existed, the
     * {@code job} of its latest run record; null when neither says.
     */
    public static String jobOf(FileSystem fs, Path out) throws IOException {
        Path named = new Path(out, JOB);
        if (fs.exists(named)) {
            try (java.io.InputStream in = fs.open(named)) {
                String j = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).trim();
                return j.isEmpty() ? null : j;
            }
        }
        Path runs = new Path(out, RUNS);
        if (!fs.exists(runs)) return null;
        FileStatus latest = null;
        for (FileStatus f : fs.listStatus(runs)) {
            if (f.getPath().getName().endsWith(".json") && (latest == null || f.getPath().getName().compareTo(latest.getPath().getName()) > 0)) latest = f;
        }
        if (latest == null) return null;
        try (java.io.InputStream in = fs.open(latest.getPath())) {
            com.fasterxml.jackson.databind.JsonNode j = new ObjectMapper().readTree(in).get("job");
            return j == null || !j.isTextual() ? null : j.asText();
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            return null; // an unreadable record says nothing about the job
        }
    }

    /**
     * The identities of the checkpoints a dataset holds, read-only (empty when there is no dataset yet): a run
     * looks them up before it opens the dataset, so its refusals still come before anything is written.
     */
    public static Set<CheckpointIdentity> committedIdentities(Configuration conf, String outUri) {
        Path out = new Path(outUri);
        try {
            FileSystem fs = out.getFileSystem(conf);
            if (!fs.exists(new Path(out, "_fleet"))) return Set.of();
            Set<CheckpointIdentity> ids = new java.util.HashSet<>();
            for (List<Committed> l : scan(fs, fs.makeQualified(out)).values()) for (Committed c : l) ids.add(c.id());
            return ids;
        } catch (IOException e) {
            throw new WeightLabException(outUri + ": cannot list the fleet dataset: " + e.getMessage(), e);
        }
    }

    /** Every committed checkpoint file, by key (more than one only after a run died between commit and cleanup). */
    private static Map<String, List<Committed>> scan(FileSystem fs, Path out) throws IOException {
        Map<String, List<Committed>> m = new LinkedHashMap<>();
        RemoteIterator<LocatedFileStatus> it = fs.listFiles(out, true);
        String root = out.toUri().getPath();
        while (it.hasNext()) {
            LocatedFileStatus f = it.next();
            String rel = f.getPath().toUri().getPath().substring(root.length());
            if (rel.startsWith("/_") || rel.contains("/_") || rel.contains("/.")) continue;
            CheckpointIdentity id = CheckpointIdentity.fromFileName(f.getPath().getName());
            if (id != null) m.computeIfAbsent(id.key(), k -> new ArrayList<>()).add(new Committed(id, f.getPath()));
        }
        return m;
    }

    public Path outputDir() { return out; }

    /** The committed files, by checkpoint key. */
    public Map<String, List<Committed>> committed() { return committed; }

    /**
     * Whether this checkpoint's rows, for its current identity, are already in the dataset (APPEND only): then files of
     * older identities left by a run that died after committing are removed, and nothing needs analysing.
     */
    public boolean isCurrent(CheckpointIdentity id) {
        if (mode != Mode.APPEND) return false;
        List<Committed> l = committed.getOrDefault(id.key(), List.of());
        if (l.stream().noneMatch(c -> c.id().equals(id))) return false;
        removeOthers(id, null);
        return true;
    }

    /** Where a checkpoint's rows are written before {@link #commit}. */
    public Path stagingFile(CheckpointIdentity id) {
        return new Path(staging, id.fileName());
    }

    /**
     * Moves the staged file into {@code partitionDir} (one rename), then deletes the files of the same checkpoint
     * under an older identity or another label.
     */
    public void commit(CheckpointIdentity id, String partitionDir) {
        Path target = new Path(new Path(out, partitionDir), id.fileName());
        try {
            fs.mkdirs(target.getParent());
            if (fs.exists(target)) fs.delete(target, false); // OVERWRITE: same checkpoint, same identity, analysed again
            if (!fs.rename(stagingFile(id), target)) throw new IOException("rename " + stagingFile(id) + " -> " + target + " failed");
            removeOthers(id, target);
            committed.put(id.key(), new ArrayList<>(List.of(new Committed(id, target))));
        } catch (IOException e) {
            throw new WeightLabException(out + ": committing the rows of checkpoint " + id.key() + " failed: " + e.getMessage(), e);
        }
    }

    private void removeOthers(CheckpointIdentity id, Path keep) {
        List<Committed> l = committed.getOrDefault(id.key(), List.of());
        List<Committed> kept = new ArrayList<>();
        for (Committed c : l) {
            boolean stay = keep == null ? c.id().equals(id) && kept.isEmpty() : c.file().equals(keep);
            if (stay) {
                kept.add(c);
                continue;
            }
            try {
                fs.delete(c.file(), false);
                deleteEmptyParents(c.file().getParent());
            } catch (IOException e) {
                throw new WeightLabException(out + ": removing the superseded rows " + c.file() + " failed: " + e.getMessage(), e);
            }
        }
        committed.put(id.key(), kept);
    }

    /** Keys in the dataset that are not in {@code seen}: checkpoints no longer among the inputs. */
    public List<Committed> notIn(Set<String> seen) {
        List<Committed> l = new ArrayList<>();
        committed.forEach((k, v) -> { if (!seen.contains(k)) l.addAll(v); });
        return l;
    }

    /** {@code --prune}: drops the rows of checkpoints no longer among the inputs. */
    public void remove(List<Committed> gone) {
        for (Committed c : gone) {
            try {
                fs.delete(c.file(), false);
                deleteEmptyParents(c.file().getParent());
                committed.remove(c.id().key());
            } catch (IOException e) {
                throw new WeightLabException(out + ": pruning " + c.file() + " failed: " + e.getMessage(), e);
            }
        }
    }

    private void deleteEmptyParents(Path dir) throws IOException {
        Path d = dir;
        while (d != null && !d.equals(out) && fs.exists(d) && fs.listStatus(d).length == 0) {
            fs.delete(d, false);
            d = d.getParent();
        }
    }

    /** The path of a dataset-relative file, for readers. */
    public String relative(Path p) {
        return p.toUri().getPath().substring(out.toUri().getPath().length() + 1);
    }

    /** Ends the run: its record under {@code _fleet/runs/}, {@code _SUCCESS}, the staging removed. */
    public void finish(String runId, Map<String, Object> facts) {
        try {
            ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
            try (FSDataOutputStream o = fs.create(new Path(new Path(out, RUNS), runId + ".json"), true)) {
                json.writeValue((java.io.OutputStream) o, facts);
            }
            try (FSDataOutputStream o = fs.create(new Path(out, StagedOutput.SUCCESS), true)) {
                Map<String, Object> s = new HashMap<>();
                s.put("writer", "weightlab");
                s.put("checkpoints", committed.size());
                s.put("last_run", runId);
                o.write((json.writeValueAsString(s) + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8));
            }
            fs.delete(staging, true);
            Path tmp = staging.getParent();
            if (fs.exists(tmp) && fs.listStatus(tmp).length == 0) fs.delete(tmp, false);
        } catch (IOException e) {
            throw new WeightLabException(out + ": finishing the run failed: " + e.getMessage(), e);
        }
    }

    /**
     * Removes this run's staging; committed checkpoints stay (each is complete). A dataset this run created and
     * committed nothing to is removed entirely, so the next run starts as the first.
     */
    public void abort() {
        try {
            if (createdOut && committed.values().stream().allMatch(List::isEmpty)) {
                fs.delete(out, true);
                return;
            }
            fs.delete(staging, true);
            Path tmp = staging.getParent();
            if (fs.exists(tmp) && fs.listStatus(tmp).length == 0) fs.delete(tmp, false);
        } catch (IOException ignored) {
            // best effort: readers skip _temporary, and the next run clears it
        }
    }
}
