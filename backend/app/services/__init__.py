"""Use cases. Each public function is one transaction; none prints or knows about invoke."""
