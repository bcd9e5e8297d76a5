package io.weightlab.common.onnx;

import java.util.List;
import java.util.Map;

/** A graph node: what the importer needs to name and orient initializers (integer attributes only). */
public record OnnxNode(String name, String opType, List<String> inputs, Map<String, Long> intAttributes) {}
