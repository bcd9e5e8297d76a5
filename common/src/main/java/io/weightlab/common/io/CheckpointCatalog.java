package io.weightlab.common.io;

import io.weightlab.common.commit.StagedOutput;
import io.weightlab.common.error.CheckpointFormatException;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.error.WeightLabException;

import io.weightlab.common.model.TensorInfo;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Builds a {@link Checkpoint} from a Hadoop URI (file://, hdfs://, s3a://) by reading only the 8-byte length
 * and the JSON header of every shard: two small ranged reads per file.
 * Accepts a .safetensors file, an index file, a directory (with an index, or with .safetensors files), or a glob.
 */
public final class CheckpointCatalog {
    /** An index larger than this is refused before it is read (a real one is a few MB at most). */
    static final long MAX_INDEX_BYTES = 64L << 20;

    private CheckpointCatalog() {}

    public static Checkpoint open(Configuration conf, String uri) {
        return read(locate(conf, uri));
    }

    /**
     * Where a checkpoint's shards are, from listings (and its index, when it has one) without reading a safetensors
     * header: enough for its key and identity (a fleet's --append leaves unchanged checkpoints at that).
     * {@code index} and {@code indexStatus} are null for a checkpoint named by its files.
     */
    public record Located(String uri, FileSystem fs, List<FileStatus> files, FileStatus indexStatus, ShardedIndex index) {}

    public static Located locate(Configuration conf, String uri) {
        Path path = new Path(uri);
        try {
            FileSystem fs = path.getFileSystem(conf);
            if (isGlob(uri)) {
                FileStatus[] matches = fs.globStatus(path);
                if (matches == null || matches.length == 0) {
                    throw new UsageException(uri + ": no file matches this pattern");
                }
                List<FileStatus> files = new ArrayList<>();
                for (FileStatus st : matches) if (st.isFile() && st.getPath().getName().endsWith(".safetensors")) files.add(st);
                if (files.isEmpty()) throw new UsageException(uri + ": the pattern matches no .safetensors file");
                return files(fs, uri, files);
            }
            FileStatus st;
            try {
                st = fs.getFileStatus(path);
            } catch (FileNotFoundException e) {
                throw new UsageException(uri + ": no such file or directory");
            }
            if (st.isFile()) {
                Path parent = st.getPath().getParent();
                if (parent != null) {
                    refuseIncomplete(parent, fs.exists(new Path(parent, StagedOutput.TEMPORARY)), fs.exists(new Path(parent, StagedOutput.SUCCESS)));
                }
                if (path.getName().endsWith(".index.json")) return index(fs, uri, st);
                return files(fs, uri, List.of(st));
            }
            FileStatus[] children = fs.listStatus(path);
            refuseIncomplete(path, hasChild(children, StagedOutput.TEMPORARY), hasChild(children, StagedOutput.SUCCESS));
            List<FileStatus> indexes = new ArrayList<>();
            List<FileStatus> files = new ArrayList<>();
            for (FileStatus c : children) {
                String n = c.getPath().getName();
                if (!c.isFile() || n.startsWith(".") || n.startsWith("_")) continue;
                if (n.endsWith(".safetensors.index.json")) indexes.add(c);
                else if (n.endsWith(".safetensors")) files.add(c);
            }
            if (indexes.size() > 1) {
                FileStatus preferred = null;
                for (FileStatus i : indexes) if (i.getPath().getName().equals(ShardedIndex.DEFAULT_NAME)) preferred = i;
                if (preferred == null) {
                    throw new UsageException(uri + ": several index files " + names(indexes) + "; name the one to read");
                }
                return index(fs, uri, preferred);
            }
            if (indexes.size() == 1) return index(fs, uri, indexes.get(0));
            if (files.isEmpty()) throw new UsageException(uri + ": the directory holds no .safetensors file and no index");
            return files(fs, uri, files);
        } catch (IOException e) {
            throw new WeightLabException(uri + ": cannot read: " + e.getMessage(), e);
        }
    }

    /** The checkpoint of a {@link #locate located} one: every shard's header read and checked against the index. */
    public static Checkpoint read(Located l) {
        try {
            return l.index() != null ? fromIndex(l) : fromFiles(l);
        } catch (IOException e) {
            throw new WeightLabException(l.uri() + ": cannot read: " + e.getMessage(), e);
        }
    }

    /** A directory a WeightLab job is still writing (or died writing): _temporary present, _SUCCESS absent. */
    private static void refuseIncomplete(Path dir, boolean temporary, boolean success) {
        if (temporary && !success) {
            throw new CheckpointFormatException(dir.toString(), null, "IncompleteOutput",
                    "has " + StagedOutput.TEMPORARY + " but no " + StagedOutput.SUCCESS
                            + ": a job is writing it or died before committing; re-run that job to complete it");
        }
    }

    private static boolean hasChild(FileStatus[] children, String name) {
        for (FileStatus c : children) if (c.getPath().getName().equals(name)) return true;
        return false;
    }

    private static String names(List<FileStatus> st) {
        List<String> n = new ArrayList<>();
        for (FileStatus s : st) n.add(s.getPath().getName());
        return n.toString();
    }

    static boolean isGlob(String uri) {
        return uri.indexOf('*') >= 0 || uri.indexOf('?') >= 0 || uri.indexOf('[') >= 0 || uri.indexOf('{') >= 0;
    }

    /** The shards an index names, each listed (a missing one is an error naming a tensor it should hold). */
    private static Located index(FileSystem fs, String uri, FileStatus indexStatus) throws IOException {
        String indexFile = indexStatus.getPath().toString();
        if (indexStatus.getLen() > MAX_INDEX_BYTES) {
            throw new CheckpointFormatException(indexFile, null, "IndexTooLarge",
                    indexStatus.getLen() + " bytes exceeds the " + MAX_INDEX_BYTES + "-byte limit");
        }
        byte[] bytes = new byte[(int) indexStatus.getLen()];
        try (FSDataInputStream in = fs.open(indexStatus.getPath())) {
            in.readFully(0, bytes);
        }
        ShardedIndex index = ShardedIndex.parse(indexFile, bytes);
        Path dir = indexStatus.getPath().getParent();
        List<FileStatus> statuses = new ArrayList<>();
        for (String shardName : index.shards()) {
            try {
                statuses.add(fs.getFileStatus(new Path(dir, shardName)));
            } catch (FileNotFoundException e) {
                String someTensor = null;
                for (Map.Entry<String, String> e2 : index.weightMap().entrySet()) {
                    if (e2.getValue().equals(shardName)) { someTensor = e2.getKey(); break; }
                }
                throw new CheckpointFormatException(indexFile, someTensor, "MissingShard",
                        "weight_map names shard '" + shardName + "', which does not exist in " + dir);
            }
        }
        return new Located(uri, fs, statuses, indexStatus, index);
    }

    /** Files named directly (a file, a directory's .safetensors, a glob's matches), each once. */
    private static Located files(FileSystem fs, String uri, List<FileStatus> files) {
        Map<Path, FileStatus> unique = new java.util.LinkedHashMap<>();
        for (FileStatus f : files) unique.putIfAbsent(f.getPath(), f);
        return new Located(uri, fs, new ArrayList<>(unique.values()), null, null);
    }

    private static Checkpoint fromIndex(Located l) throws IOException {
        String indexFile = l.indexStatus().getPath().toString();
        ShardedIndex index = l.index();
        List<Checkpoint.Shard> shards = new ArrayList<>();
        Map<String, TensorInfo> found = new HashMap<>();
        List<String> names = new ArrayList<>(index.shards()); // the order index() listed them in
        for (int i = 0; i < names.size(); i++) {
            String shardName = names.get(i);
            SafetensorsHeader h = addShard(l.fs(), l.files().get(i), shards, found);
            for (TensorInfo t : h.tensors()) {
                String mapped = index.weightMap().get(t.name());
                if (mapped == null) {
                    throw new CheckpointFormatException(h.file(), t.name(), "IndexMismatch",
                            "tensor is in the shard but not in the weight_map of " + indexFile);
                }
                if (!mapped.equals(shardName)) {
                    throw new CheckpointFormatException(h.file(), t.name(), "IndexMismatch",
                            "weight_map places it in '" + mapped + "'");
                }
            }
        }
        for (Map.Entry<String, String> e : index.weightMap().entrySet()) {
            if (!found.containsKey(e.getKey())) {
                throw new CheckpointFormatException(indexFile, e.getKey(), "IndexMismatch",
                        "weight_map places it in '" + e.getValue() + "', whose header does not list it");
            }
        }
        return build(l.uri(), shards, found);
    }

    private static Checkpoint fromFiles(Located l) throws IOException {
        List<Checkpoint.Shard> shards = new ArrayList<>();
        Map<String, TensorInfo> found = new HashMap<>();
        for (FileStatus st : l.files()) addShard(l.fs(), st, shards, found);
        return build(l.uri(), shards, found);
    }

    /** Reads one shard's header and adds its tensors; a name already seen in another shard is an error. */
    private static SafetensorsHeader addShard(FileSystem fs, FileStatus st, List<Checkpoint.Shard> shards,
                                              Map<String, TensorInfo> found) throws IOException {
        SafetensorsHeader h = readHeader(fs, st);
        shards.add(new Checkpoint.Shard(h.file(), st.getLen(), h.headerLength(), h.metadata()));
        for (TensorInfo t : h.tensors()) {
            TensorInfo prev = found.put(t.name(), t);
            if (prev != null) {
                throw new CheckpointFormatException(h.file(), t.name(), "DuplicateTensor", "also stored in " + prev.file());
            }
        }
        return h;
    }

    private static Checkpoint build(String uri, List<Checkpoint.Shard> shards, Map<String, TensorInfo> found) {
        List<TensorInfo> tensors = new ArrayList<>(found.values());
        tensors.sort((a, b) -> NaturalOrder.INSTANCE.compare(a.name(), b.name()));
        return new Checkpoint(uri, shards, tensors);
    }

    /** Two ranged reads (retried like every read, {@link RangeReader}): the 8-byte length, then the header. */
    public static SafetensorsHeader readHeader(FileSystem fs, FileStatus st) throws IOException {
        String file = st.getPath().toString();
        long len = st.getLen();
        try (RangeReader r = new RangeReader(fs.getConf())) {
            byte[] first8 = new byte[8];
            if (len >= 8) r.read(file, 0, first8, 0, 8);
            long n = SafetensorsHeader.headerLength(file, first8, len);
            byte[] header = new byte[(int) n];
            r.read(file, 8, header, 0, header.length);
            return SafetensorsHeader.parse(file, header, len);
        }
    }
}
