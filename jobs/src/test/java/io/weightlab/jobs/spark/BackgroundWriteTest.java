package io.weightlab.jobs.spark;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.*;

/** The contract stats and spectrum rely on before they commit or abort: the background file is finished or failed. */
class BackgroundWriteTest {
    @Test
    void bothWritesRunConcurrentlyAndAreDoneOnReturn() throws Exception {
        CountDownLatch callerStarted = new CountDownLatch(1);
        AtomicBoolean backgroundDone = new AtomicBoolean();
        BackgroundWrite.start(() -> {
            try {
                // waits for the caller's writes to have begun: only passes if the two overlap
                assertTrue(callerStarted.await(30, TimeUnit.SECONDS));
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            backgroundDone.set(true);
        }).alongside(callerStarted::countDown);
        assertTrue(backgroundDone.get(), "alongside returns after the background write finished");
    }

    @Test
    void aBackgroundFailureIsRethrownAsItWas() {
        UncheckedIOException thrown = new UncheckedIOException("cannot write t.parquet", new IOException("disk full"));
        UncheckedIOException e = assertThrows(UncheckedIOException.class,
                () -> BackgroundWrite.start(() -> { throw thrown; }).alongside(() -> {}));
        assertSame(thrown, e);
    }

    @Test
    void aCallerFailureWaitsForTheBackgroundWriteAndCarriesItsFailure() {
        AtomicBoolean finished = new AtomicBoolean();
        IllegalStateException background = new IllegalStateException("parquet failed");
        IOException e = assertThrows(IOException.class, () -> BackgroundWrite.start(() -> {
            try {
                Thread.sleep(200);
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            }
            finished.set(true);
            throw background;
        }).alongside(() -> { throw new IOException("json failed"); }));
        assertEquals("json failed", e.getMessage());
        assertTrue(finished.get(), "the caller's failure is rethrown only after the background write ended");
        assertArrayEquals(new Throwable[]{background}, e.getSuppressed());
    }
}
