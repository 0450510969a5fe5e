"""profiles.db.make_engine: SQLite connections are not pinged on checkout (a file this process holds);
a server's are (they can drop)."""

from sqlalchemy import event, text

from profiles.db import make_engine


def test_sqlite_transactions_send_no_ping(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'a.sqlite3'}")
    sent: list[str] = []  # every statement SQLite runs, the pool's own included
    event.listen(engine, "connect", lambda dbapi_conn, _record: dbapi_conn.set_trace_callback(sent.append))
    for _ in range(3):  # each one a checkout from the pool
        with engine.begin() as conn:
            conn.execute(text("SELECT 42"))
    assert sent.count("SELECT 42") == 3
    assert not [s for s in sent if s.strip().upper() == "SELECT 1"], sent
    assert engine.pool._pre_ping is False
    engine.dispose()


def test_server_connections_are_pinged():
    engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")  # not connected here
    assert engine.pool._pre_ping is True
    engine.dispose()
