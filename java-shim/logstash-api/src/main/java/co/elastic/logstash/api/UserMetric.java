package co.elastic.logstash.api;

import java.util.function.Function;

/**
 * A custom metric (experimental in Logstash).
 *
 * @param <VALUE_TYPE> the value's type
 */
public interface UserMetric<VALUE_TYPE> {
    VALUE_TYPE getValue();

    /**
     * Creates a user metric, with a null implementation for when metrics are disabled.
     *
     * @param <USER_METRIC> a sub-interface of {@link UserMetric}
     */
    interface Factory<USER_METRIC extends UserMetric<?>> {
        Class<USER_METRIC> getType();

        USER_METRIC create(String name);

        USER_METRIC nullImplementation();
    }

    /**
     * Holds a user metric type's null implementation and makes factories for it.
     *
     * @param <USER_METRIC> an interface that extends {@link UserMetric}
     */
    class Provider<USER_METRIC extends UserMetric<?>> {
        private final Class<USER_METRIC> type;
        private final USER_METRIC nullImplementation;

        public Provider(final Class<USER_METRIC> type, final USER_METRIC nullImplementation) {
            this.type = type;
            this.nullImplementation = nullImplementation;
        }

        public Factory<USER_METRIC> getFactory(final Function<String, USER_METRIC> supplier) {
            return new Factory<USER_METRIC>() {
                @Override
                public USER_METRIC create(final String name) {
                    return supplier.apply(name);
                }

                @Override
                public Class<USER_METRIC> getType() {
                    return type;
                }

                @Override
                public USER_METRIC nullImplementation() {
                    return nullImplementation;
                }
            };
        }
    }
}
