package io.weightlab.common.fed;

import java.io.Serializable;

/** One client's contribution to a round: its id, where its checkpoint is, its example count and an optional weight. */
public record ClientSpec(String id, String uri, long examples, Double weight) implements Serializable {}
