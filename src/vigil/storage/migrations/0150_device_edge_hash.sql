-- The NATS edge (its MQTT listener) checks device passwords against bcrypt hashes, the only
-- hashed form nats-server reads; Mosquitto's PBKDF2 hash stays in mqtt_password_hash. A device
-- provisioned before this column has none and connects to the NATS edge only once its
-- credentials are issued again.
ALTER TABLE devices ADD COLUMN edge_password_hash text;
