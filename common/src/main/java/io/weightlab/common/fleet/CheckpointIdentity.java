package io.weightlab.common.fleet;

import io.weightlab.common.io.Checkpoint;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.EtagSource;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * What a fleet run remembers of a checkpoint: {@code key} names it (its shard files, so two inputs resolving to the
 * same files are one checkpoint), {@code identity} its content as the store describes it (per file: length and
 * modification time, or the object store's ETag when it has one), both SHA-256 hashed to 16 hex digits. A changed
 * identity under the same key is a rewritten checkpoint.
 */
public record CheckpointIdentity(String key, String identity) implements Serializable {

    public static CheckpointIdentity of(Configuration conf, Checkpoint c) throws IOException {
        List<FileStatus> files = new ArrayList<>();
        for (Checkpoint.Shard s : c.shards()) {
            Path p = new Path(s.file());
            files.add(p.getFileSystem(conf).getFileStatus(p));
        }
        return of(files);
    }

    /** From the shard files' statuses as listed ({@code CheckpointCatalog.locate}): no header is read. */
    public static CheckpointIdentity of(List<FileStatus> shards) {
        List<FileStatus> files = new ArrayList<>(shards);
        files.sort(java.util.Comparator.comparing(st -> st.getPath().toString()));
        StringBuilder keyText = new StringBuilder();
        StringBuilder idText = new StringBuilder();
        for (FileStatus st : files) {
            String f = st.getPath().toString();
            keyText.append(f).append('\n');
            String etag = st instanceof EtagSource e ? e.getEtag() : null;
            idText.append(f).append(' ').append(st.getLen()).append(' ')
                    .append(etag != null && !etag.isEmpty() ? "etag:" + etag : "mtime:" + st.getModificationTime()).append('\n');
        }
        return new CheckpointIdentity(hash(keyText.toString()), hash(idText.toString()));
    }

    /** The file name of this checkpoint's rows in the dataset: key and identity, so a dataset listing is its index. */
    public String fileName() {
        return "part-" + key + "-" + identity + ".zstd.parquet";
    }

    /** Key and identity back from a {@link #fileName()}, or null for any other name. */
    public static CheckpointIdentity fromFileName(String name) {
        if (!name.startsWith("part-") || !name.endsWith(".zstd.parquet")) return null;
        String[] parts = name.substring(5, name.length() - ".zstd.parquet".length()).split("-");
        if (parts.length != 2 || parts[0].length() != 16 || parts[1].length() != 16) return null;
        return new CheckpointIdentity(parts[0], parts[1]);
    }

    static String hash(String text) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(h, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
