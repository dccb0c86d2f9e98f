package co.elastic.logstash.api;

import java.io.IOException;

/** Writes events an output could not deliver to the dead letter queue. */
public interface DeadLetterQueueWriter {

    void writeEntry(Event event, Plugin plugin, String reason) throws IOException;

    boolean isOpen();

    long getCurrentQueueSize();
}
