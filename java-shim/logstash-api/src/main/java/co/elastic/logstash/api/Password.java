package co.elastic.logstash.api;

import java.io.Serializable;

/** Wraps a secret so that printing or logging it shows {@code <password>}. */
public class Password implements Serializable {

    private static final long serialVersionUID = -8683271728417419530L;

    private final String password;

    public Password(String password) {
        this.password = password;
    }

    public String getPassword() {
        return password;
    }

    public String getValue() {
        return getPassword();
    }

    @Override
    public String toString() {
        return "<password>";
    }
}
