package io.weightlab.common.lora;

/**
 * What one module's initialisation reads: its shape, the base weight W [out, in] (row-major, double) and, for
 * gradient-driven methods, the accumulated gradient of the loss with respect to W in the same layout. An entry a
 * method does not use ({@link LoraInitializer#needsWeight()}, {@link LoraInitializer#needsGradient()}) is null.
 */
public record ModuleData(int out, int in, double[] weight, double[] gradient) {
    public static ModuleData ofWeight(double[] w, int out, int in) {
        return new ModuleData(out, in, w, null);
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
