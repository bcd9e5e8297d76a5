package io.weightlab.common.transform;

import io.weightlab.common.io.ElementDecoder;
import io.weightlab.common.io.RangeReader;
import io.weightlab.common.linalg.SpectralEdit;
import io.weightlab.common.model.TensorInfo;

import java.util.Map;

/**
 * svd-smooth / svd-sharpen on one 2-D tensor: on first use the whole stored matrix is read and decoded to double,
 * edited by {@link SpectralEdit} (one dgesdd), and served piece by piece; the planner bounds its size. What the
 * edit found (k, the removed energy) comes back to the driver through {@link #facts()} for provenance.
 */
public final class SvdEditAction implements TensorAction {
    private static final long serialVersionUID = 1L;
    private static final int READ_ELEMENTS = 1 << 20;

    private final TensorInfo tensor;
    private final SpectralEdit.Mode mode;
    private final SpectralEdit.Selection selection;
    private transient RangeReader reader;
    private transient double[] edited;
    private transient Map<String, Object> facts;

    public SvdEditAction(TensorInfo tensor, SpectralEdit.Mode mode, SpectralEdit.Selection selection) {
        if (tensor.rank() != 2) throw new IllegalArgumentException(tensor.name() + " " + tensor.shapeString() + " is not a matrix");
        this.tensor = tensor;
        this.mode = mode;
        this.selection = selection;
    }

    // The stored values are read whole in build(), not piece by piece: every output element depends on all of them.
    @Override public boolean needsInput() { return false; }

    @Override public void open(RangeReader r) { this.reader = r; }

    @Override
    public void apply(long first, double[] values, int count) {
        if (edited == null) build();
        System.arraycopy(edited, (int) first, values, 0, count);
    }

    private void build() {
        int rows = (int) tensor.dim(0), cols = (int) tensor.dim(1);
        double[] w = new double[Math.multiplyExact(rows, cols)];
        int es = tensor.dtype().byteSize();
        byte[] buf = new byte[Math.min(READ_ELEMENTS, Math.max(1, w.length)) * es];
        for (int done = 0; done < w.length; ) {
            int take = Math.min(READ_ELEMENTS, w.length - done);
            reader.read(tensor.file(), tensor.dataBegin() + (long) done * es, buf, 0, take * es);
            ElementDecoder.decode(tensor.dtype(), buf, 0, take, w, done);
            done += take;
        }
        SpectralEdit.Result r = SpectralEdit.apply(w, rows, cols, mode, selection);
        edited = r.matrix();
        facts = r.facts(selection.by());
    }

    @Override
    public Map<String, Object> facts() { return facts == null ? Map.of() : facts; }

    @Override
    public void release() { edited = null; }

    @Override
    public String describe() {
        String k = selection.by() == SpectralEdit.By.TOPK ? "k=" + selection.k()
                : selection.by() == SpectralEdit.By.FRACTION ? Samplers.fmt("k=floor(%s x rank)", selection.fraction())
                : "k=" + selection.by().label;
        return mode == SpectralEdit.Mode.KEEP_TOP ? "W -> U_k S_k V_kᵀ (dgesdd), " + k : "W -> W - U_k S_k V_kᵀ (dgesdd), " + k;
    }
}
