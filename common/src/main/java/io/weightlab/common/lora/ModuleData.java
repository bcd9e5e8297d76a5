package io.weightlab.common.lora;

import org.bytedeco.javacpp.FloatPointer;

/**
 * What one module's initialisation reads: its shape, the base weight W [out, in] (row-major, double) and, for
 * gradient-driven methods, the accumulated gradient of the loss with respect to W in the same layout. An entry a
 * method does not use ({@link LoraInitializer#needsWeight()}, {@link LoraInitializer#needsGradient()}) is null.
 * A method that works in float32 ({@link LoraInitializer#float32Weight()}) may get W as {@code weightF32} instead:
 * off-heap, row-major, owned by the caller.
 */
public record ModuleData(int out, int in, double[] weight, double[] gradient, FloatPointer weightF32) {
    public ModuleData(int out, int in, double[] weight, double[] gradient) {
        this(out, in, weight, gradient, null);
    }

    public static ModuleData ofWeight(double[] w, int out, int in) {
        return new ModuleData(out, in, w, null);
    }

    /** W already in float32 off-heap (the caller frees it after {@code init}). */
    public static ModuleData ofFloat32(FloatPointer w, int out, int in) {
        return new ModuleData(out, in, null, null, w);
    }

    double[] requireWeight() {
        if (weight == null) throw new IllegalStateException("this initialisation reads the base weight, which was not given");
        return weight;
    }

    double[] requireGradient() {
        if (gradient == null) throw new IllegalStateException("this initialisation reads the gradient, which was not given");
        return gradient;
    }
}
