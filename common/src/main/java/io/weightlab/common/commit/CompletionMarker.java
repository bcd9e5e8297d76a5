package io.weightlab.common.commit;

import io.weightlab.common.error.WeightLabException;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.Path;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.Serializable;

/**
 * What a task writes after it finished a staged file, so that a {@code --resume} run can keep the file and reuse the
 * task's result instead of computing it again. Written by the task itself, last; see {@link StagedOutput#completionMarker}.
 */
public final class CompletionMarker {
    private CompletionMarker() {}

    /** On an executor: records {@code result} at {@code markerPath} (from {@link StagedOutput#completionMarker}). */
    public static void write(Configuration conf, String markerPath, Serializable result, String what) {
        Path marker = new Path(markerPath);
        try (FSDataOutputStream os = marker.getFileSystem(conf).create(marker, true); ObjectOutputStream oos = new ObjectOutputStream(os)) {
            oos.writeObject(result);
        } catch (IOException e) {
            throw new WeightLabException("writing the completion marker of " + what + " failed: " + e.getMessage(), e);
        }
    }

    /**
     * On the driver: the result a taken-over run recorded for {@code relative} (a path under the staging directory,
     * e.g. {@code _scratch/agg/3.f64}), or null when it did not complete it, the marker is unreadable, or the file
     * does not have {@code expectedLength} bytes (-1: any length).
     */
    public static <T> T read(StagedOutput out, String relative, Class<T> type, long expectedLength) {
        byte[] marker = out.completed(relative);
        if (marker == null) return null;
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(marker))) {
            Object r = in.readObject();
            if (!type.isInstance(r)) return null;
            if (expectedLength >= 0 && out.fileSystem().getFileStatus(out.stagedFile(relative)).getLen() != expectedLength) return null;
            return type.cast(r);
        } catch (IOException | ClassNotFoundException e) {
            return null; // an unreadable marker: the work is done again
        }
    }
}
