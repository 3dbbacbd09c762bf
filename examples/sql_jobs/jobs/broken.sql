select client_id, from cms.clients where
