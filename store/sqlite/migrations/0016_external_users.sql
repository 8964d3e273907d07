-- Users who sign in through single sign-on (OpenID Connect): the issuer
-- and the subject the identity provider knows them by. Both are '' for a
-- local account. Such a user is provisioned or updated at each login and
-- has no usable password (password_hash '!').
ALTER TABLE users ADD COLUMN external_issuer TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN external_subject TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX users_external ON users (external_issuer, external_subject) WHERE external_issuer != '';
