"""Storage: the only package that talks SQL (SQLCipher through sqlcipher3 and sqlite-utils)."""
