-- Accounts of the reference app. No down section: schema_rollback generates
-- the reverse SQL (DROP TABLE) from this file.
CREATE TABLE accounts (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    email VARCHAR(190) NOT NULL,
    display_name VARCHAR(80) NOT NULL,
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    UNIQUE KEY accounts_email_key (email)
) ENGINE=InnoDB COMMENT='People who can sign in';
