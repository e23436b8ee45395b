import CSQLite
import CShims
import TollgateCore

/// A SQLite failure: the extended result code, SQLite's message and the SQL involved.
public struct SQLiteError: Error, Sendable, CustomStringConvertible {
    public let code: Int32
    public let message: String
    public let sql: String?
    public var description: String {
        (code == 0 ? message : "SQLite error \(code): \(message)") + (sql.map { " (in \($0))" } ?? "")
    }
}

/// One SQLite connection. Not thread-safe: its owner keeps it on one serial queue.
public final class SQLiteConnection {
    let handle: OpaquePointer

    public init(path: String, readOnly: Bool = false) throws(SQLiteError) {
        var db: OpaquePointer?
        let flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open \(path)"
            if let db { sqlite3_close_v2(db) }
            throw SQLiteError(code: rc, message: message, sql: nil)
        }
        handle = db
        sqlite3_extended_result_codes(db, 1)
        sqlite3_busy_timeout(db, 5000)
    }

    deinit { sqlite3_close_v2(handle) }

    /// Runs one or more statements that return no rows.
    public func execute(_ sql: String) throws(SQLiteError) {
        var errorMessage: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &errorMessage)
        if rc != SQLITE_OK {
            let message = errorMessage.map { String(cString: $0) } ?? "unknown error"
            sqlite3_free(errorMessage)
            throw SQLiteError(code: rc, message: message, sql: sql)
        }
    }

    public func prepare(_ sql: String) throws(SQLiteError) -> SQLiteStatement {
        try SQLiteStatement(connection: self, sql: sql)
    }

    func error(_ rc: Int32, sql: String?) -> SQLiteError {
        SQLiteError(code: rc, message: String(cString: sqlite3_errmsg(handle)), sql: sql)
    }
}

/// A prepared statement, finalized when released.
public final class SQLiteStatement {
    let handle: OpaquePointer
    let connection: SQLiteConnection
    let sql: String

    init(connection: SQLiteConnection, sql: String) throws(SQLiteError) {
        var statement: OpaquePointer?
        let rc = sqlite3_prepare_v2(connection.handle, sql, -1, &statement, nil)
        guard rc == SQLITE_OK, let statement else { throw connection.error(rc, sql: sql) }
        handle = statement
        self.connection = connection
        self.sql = sql
    }

    deinit { sqlite3_finalize(handle) }

    public enum Value: Sendable, Equatable {
        case null
        case int(Int64)
        case double(Double)
        case text(String)
    }

    public func bind(_ values: [Value]) throws(SQLiteError) { try bind(values, textsAt: nil) }

    /// Binds `values` in order. SQLite copies each text, unless `buffer` is given: then the
    /// texts are copied one after another into it and bound where they are (SQLITE_STATIC), so
    /// the buffer must hold them all and outlive the step and the bindings.
    private func bind(_ values: [Value], textsAt buffer: UnsafeMutableRawPointer?) throws(SQLiteError) {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
        var at = 0
        for (i, value) in values.enumerated() {
            let index = Int32(i + 1)
            let rc: Int32
            switch value {
            case .null: rc = sqlite3_bind_null(handle, index)
            case .int(let v): rc = sqlite3_bind_int64(handle, index, v)
            case .double(let v): rc = sqlite3_bind_double(handle, index, v)
            case .text(var v):
                if let buffer {
                    let start = buffer + at
                    let count = v.withUTF8 { utf8 in
                        if let source = utf8.baseAddress { start.copyMemory(from: source, byteCount: utf8.count) }
                        return utf8.count
                    }
                    at += count
                    // A nil destructor is SQLITE_STATIC: SQLite reads the bytes where they are.
                    rc = sqlite3_bind_text(handle, index, start.assumingMemoryBound(to: CChar.self), Int32(count), nil)
                } else {
                    rc = tg_sqlite3_bind_text(handle, index, v, Int32(v.utf8.count))
                }
            }
            guard rc == SQLITE_OK else { throw connection.error(rc, sql: sql) }
        }
    }

    /// Runs the statement and returns every row.
    public func rows(_ values: [Value] = []) throws(SQLiteError) -> [[Value]] {
        try bind(values)
        var result: [[Value]] = []
        while true {
            let rc = sqlite3_step(handle)
            switch rc {
            case SQLITE_ROW:
                let count = sqlite3_column_count(handle)
                result.append((0..<count).map { column(Int32($0)) })
            case SQLITE_DONE:
                sqlite3_reset(handle)
                return result
            default:
                let error = connection.error(rc, sql: sql)
                sqlite3_reset(handle)
                throw error
            }
        }
    }

    public func run(_ values: [Value] = []) throws(SQLiteError) { _ = try rows(values) }

    /// Runs a statement that returns no rows (an insert), its texts bound without copies: their
    /// bytes are gathered in one temporary buffer (on the stack when small) that outlives the
    /// step, and the bindings are cleared before it is released. `run` has SQLite copy each text.
    public func runBindingInPlace(_ values: [Value]) throws(SQLiteError) {
        var textBytes = 0
        for case .text(let text) in values { textBytes += text.utf8.count }
        let outcome: SQLiteError? = withUnsafeTemporaryAllocation(byteCount: max(textBytes, 1), alignment: 1) { buffer in
            defer {
                sqlite3_reset(handle)
                sqlite3_clear_bindings(handle)
            }
            do throws(SQLiteError) {
                try bind(values, textsAt: buffer.baseAddress!)
            } catch {
                return error
            }
            while true {
                let rc = sqlite3_step(handle)
                if rc == SQLITE_DONE { return nil }
                if rc != SQLITE_ROW { return connection.error(rc, sql: sql) }
            }
        }
        if let outcome { throw outcome }
    }

    private func column(_ i: Int32) -> Value {
        switch sqlite3_column_type(handle, i) {
        case SQLITE_INTEGER: .int(sqlite3_column_int64(handle, i))
        case SQLITE_FLOAT: .double(sqlite3_column_double(handle, i))
        case SQLITE_NULL: .null
        default: .text(String(cString: sqlite3_column_text(handle, i)))
        }
    }
}
