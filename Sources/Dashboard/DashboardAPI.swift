/// The dashboard API's OpenAPI 3.1 document, served at `/api/openapi.json`. Every `/api/`
/// route is in it; the tests check it is a valid document (openapi-spec-validator) and check
/// each route's responses against it (openapi-schema-validator). A new field or route is an
/// edit here and in the response type together.
enum DashboardAPI {
    static let document = #"""
{
  "components": {
    "responses": {
      "NotFound": {
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        },
        "description": "Not in the records."
      },
      "Unauthorized": {
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        },
        "description": "The dashboard has a viewer token and the request did not carry it."
      },
      "Unavailable": {
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        },
        "description": "The records cannot be read now (the line database down, a store unreadable); code says which failure, error what to do."
      }
    },
    "schemas": {
      "AttemptRow": {
        "additionalProperties": false,
        "properties": {
          "attempt": {
            "minimum": 0,
            "type": "integer"
          },
          "deviceID": {
            "type": "string"
          },
          "failureCode": {
            "type": "string"
          },
          "finishedAt": {
            "format": "date-time",
            "type": "string"
          },
          "operatorName": {
            "type": "string"
          },
          "passed": {
            "type": "boolean"
          },
          "protected": {
            "type": "boolean"
          }
        },
        "required": [
          "deviceID",
          "attempt",
          "finishedAt",
          "passed",
          "protected"
        ],
        "type": "object"
      },
      "Bucket": {
        "additionalProperties": false,
        "properties": {
          "failed": {
            "minimum": 0,
            "type": "integer"
          },
          "passed": {
            "minimum": 0,
            "type": "integer"
          },
          "start": {
            "format": "date-time",
            "type": "string"
          }
        },
        "required": [
          "start",
          "passed",
          "failed"
        ],
        "type": "object"
      },
      "Device": {
        "additionalProperties": false,
        "properties": {
          "attempts": {
            "items": {
              "$ref": "#/components/schemas/DeviceAttempt"
            },
            "type": "array"
          },
          "deviceID": {
            "type": "string"
          },
          "iccid": {
            "type": "string"
          },
          "imei": {
            "type": "string"
          },
          "platform": {
            "type": "string"
          },
          "serialNumber": {
            "type": "string"
          }
        },
        "required": [
          "deviceID",
          "attempts"
        ],
        "type": "object"
      },
      "DeviceAttempt": {
        "additionalProperties": false,
        "properties": {
          "attempt": {
            "minimum": 0,
            "type": "integer"
          },
          "deviceOSAfter": {
            "type": "string"
          },
          "deviceOSBefore": {
            "type": "string"
          },
          "failureCode": {
            "type": "string"
          },
          "failureMeaning": {
            "type": "string"
          },
          "failureMessage": {
            "type": "string"
          },
          "finishedAt": {
            "format": "date-time",
            "type": "string"
          },
          "importState": {
            "type": "string"
          },
          "line": {
            "type": "string"
          },
          "modulesAfter": {
            "items": {
              "$ref": "#/components/schemas/Module"
            },
            "type": "array"
          },
          "modulesBefore": {
            "items": {
              "$ref": "#/components/schemas/Module"
            },
            "type": "array"
          },
          "next": {
            "type": "string"
          },
          "operatorName": {
            "type": "string"
          },
          "passed": {
            "type": "boolean"
          },
          "protected": {
            "type": "boolean"
          },
          "protection": {
            "type": "string"
          },
          "startedAt": {
            "format": "date-time",
            "type": "string"
          },
          "stationID": {
            "type": "string"
          },
          "steps": {
            "items": {
              "$ref": "#/components/schemas/Step"
            },
            "type": "array"
          },
          "written": {
            "items": {
              "$ref": "#/components/schemas/Written"
            },
            "type": "array"
          }
        },
        "required": [
          "stationID",
          "attempt",
          "startedAt",
          "finishedAt",
          "passed",
          "protected",
          "steps",
          "modulesBefore",
          "modulesAfter",
          "written",
          "importState"
        ],
        "type": "object"
      },
      "Error": {
        "additionalProperties": false,
        "properties": {
          "code": {
            "description": "The failure table's code (station codes), present on a 503.",
            "pattern": "^[A-Z0-9-]+$",
            "type": "string"
          },
          "error": {
            "type": "string"
          }
        },
        "required": [
          "error"
        ],
        "type": "object"
      },
      "Failure": {
        "additionalProperties": false,
        "properties": {
          "code": {
            "type": "string"
          },
          "count": {
            "minimum": 0,
            "type": "integer"
          },
          "cumulative": {
            "maximum": 1,
            "minimum": 0,
            "type": "number"
          },
          "meaning": {
            "type": "string"
          },
          "next": {
            "type": "string"
          }
        },
        "required": [
          "code",
          "count",
          "cumulative"
        ],
        "type": "object"
      },
      "FailureCode": {
        "additionalProperties": false,
        "properties": {
          "attempts": {
            "items": {
              "$ref": "#/components/schemas/AttemptRow"
            },
            "type": "array"
          },
          "code": {
            "type": "string"
          },
          "count": {
            "minimum": 0,
            "type": "integer"
          },
          "cumulative": {
            "maximum": 1,
            "minimum": 0,
            "type": "number"
          },
          "meaning": {
            "type": "string"
          },
          "next": {
            "type": "string"
          }
        },
        "required": [
          "code",
          "count",
          "cumulative",
          "attempts"
        ],
        "type": "object"
      },
      "FailuresView": {
        "additionalProperties": false,
        "properties": {
          "codes": {
            "items": {
              "$ref": "#/components/schemas/FailureCode"
            },
            "type": "array"
          },
          "range": {
            "$ref": "#/components/schemas/Range"
          },
          "station": {
            "type": "string"
          },
          "stations": {
            "items": {
              "type": "string"
            },
            "type": "array"
          }
        },
        "required": [
          "range",
          "stations",
          "codes"
        ],
        "type": "object"
      },
      "Found": {
        "additionalProperties": false,
        "properties": {
          "deviceID": {
            "type": "string"
          }
        },
        "required": [
          "deviceID"
        ],
        "type": "object"
      },
      "Group": {
        "additionalProperties": false,
        "properties": {
          "attempts": {
            "minimum": 0,
            "type": "integer"
          },
          "devices": {
            "minimum": 0,
            "type": "integer"
          },
          "failed": {
            "minimum": 0,
            "type": "integer"
          },
          "key": {
            "type": "string"
          },
          "passRate": {
            "maximum": 1,
            "minimum": 0,
            "type": "number"
          },
          "passed": {
            "minimum": 0,
            "type": "integer"
          },
          "protected": {
            "minimum": 0,
            "type": "integer"
          }
        },
        "required": [
          "key",
          "devices",
          "attempts",
          "passed",
          "failed",
          "protected",
          "passRate"
        ],
        "type": "object"
      },
      "Module": {
        "additionalProperties": false,
        "properties": {
          "function": {
            "type": "string"
          },
          "index": {
            "minimum": 0,
            "type": "integer"
          },
          "sha256": {
            "description": "The module's own SHA-256 (the field in its suffix), as read over DFU or reported by the device; absent when the channel gave none.",
            "pattern": "^[0-9a-f]{64}$",
            "type": "string"
          },
          "valid": {
            "type": "boolean"
          },
          "version": {
            "minimum": 0,
            "type": "integer"
          }
        },
        "required": [
          "function",
          "index",
          "version",
          "valid"
        ],
        "type": "object"
      },
      "Overview": {
        "additionalProperties": false,
        "properties": {
          "buckets": {
            "items": {
              "$ref": "#/components/schemas/Bucket"
            },
            "type": "array"
          },
          "failures": {
            "items": {
              "$ref": "#/components/schemas/Failure"
            },
            "type": "array"
          },
          "generatedAt": {
            "format": "date-time",
            "type": "string"
          },
          "range": {
            "$ref": "#/components/schemas/Range"
          },
          "stations": {
            "items": {
              "$ref": "#/components/schemas/Station"
            },
            "type": "array"
          },
          "totals": {
            "$ref": "#/components/schemas/Totals"
          }
        },
        "required": [
          "range",
          "generatedAt",
          "totals",
          "stations",
          "failures",
          "buckets"
        ],
        "type": "object"
      },
      "Range": {
        "additionalProperties": false,
        "properties": {
          "key": {
            "enum": [
              "1h",
              "12h",
              "24h",
              "7d",
              "30d"
            ],
            "type": "string"
          },
          "label": {
            "type": "string"
          },
          "since": {
            "format": "date-time",
            "type": "string"
          },
          "until": {
            "format": "date-time",
            "type": "string"
          }
        },
        "required": [
          "key",
          "label",
          "since",
          "until"
        ],
        "type": "object"
      },
      "Station": {
        "additionalProperties": false,
        "properties": {
          "active": {
            "type": "boolean"
          },
          "devices": {
            "minimum": 0,
            "type": "integer"
          },
          "failed": {
            "minimum": 0,
            "type": "integer"
          },
          "firstPassYield": {
            "maximum": 1,
            "minimum": 0,
            "type": "number"
          },
          "id": {
            "type": "string"
          },
          "lastActivity": {
            "format": "date-time",
            "type": "string"
          },
          "lastOperator": {
            "type": "string"
          },
          "line": {
            "type": "string"
          },
          "passed": {
            "minimum": 0,
            "type": "integer"
          },
          "protected": {
            "minimum": 0,
            "type": "integer"
          },
          "throughputPerHour": {
            "minimum": 0,
            "type": "number"
          },
          "yield": {
            "maximum": 1,
            "minimum": 0,
            "type": "number"
          }
        },
        "required": [
          "id",
          "active",
          "devices",
          "passed",
          "failed",
          "protected",
          "yield",
          "firstPassYield",
          "throughputPerHour"
        ],
        "type": "object"
      },
      "StationView": {
        "additionalProperties": false,
        "properties": {
          "attempts": {
            "items": {
              "$ref": "#/components/schemas/AttemptRow"
            },
            "type": "array"
          },
          "buckets": {
            "items": {
              "$ref": "#/components/schemas/Bucket"
            },
            "type": "array"
          },
          "failures": {
            "items": {
              "$ref": "#/components/schemas/Failure"
            },
            "type": "array"
          },
          "id": {
            "type": "string"
          },
          "operators": {
            "items": {
              "$ref": "#/components/schemas/Group"
            },
            "type": "array"
          },
          "range": {
            "$ref": "#/components/schemas/Range"
          },
          "totals": {
            "$ref": "#/components/schemas/Totals"
          }
        },
        "required": [
          "id",
          "range",
          "totals",
          "failures",
          "buckets",
          "operators",
          "attempts"
        ],
        "type": "object"
      },
      "Step": {
        "additionalProperties": false,
        "properties": {
          "at": {
            "type": "number"
          },
          "step": {
            "type": "string"
          }
        },
        "required": [
          "step",
          "at"
        ],
        "type": "object"
      },
      "Totals": {
        "additionalProperties": false,
        "properties": {
          "attempts": {
            "minimum": 0,
            "type": "integer"
          },
          "devices": {
            "minimum": 0,
            "type": "integer"
          },
          "failed": {
            "minimum": 0,
            "type": "integer"
          },
          "firstPassYield": {
            "maximum": 1,
            "minimum": 0,
            "type": "number"
          },
          "passed": {
            "minimum": 0,
            "type": "integer"
          },
          "protected": {
            "minimum": 0,
            "type": "integer"
          },
          "throughputPerHour": {
            "minimum": 0,
            "type": "number"
          },
          "yield": {
            "maximum": 1,
            "minimum": 0,
            "type": "number"
          }
        },
        "required": [
          "devices",
          "attempts",
          "passed",
          "failed",
          "protected",
          "yield",
          "firstPassYield",
          "throughputPerHour"
        ],
        "type": "object"
      },
      "Written": {
        "additionalProperties": false,
        "properties": {
          "action": {
            "type": "string"
          },
          "bytes": {
            "minimum": 0,
            "type": "integer"
          },
          "file": {
            "type": "string"
          },
          "sha256": {
            "pattern": "^[0-9a-f]{64}$",
            "type": "string"
          },
          "verified": {
            "type": "boolean"
          }
        },
        "required": [
          "file",
          "sha256",
          "bytes",
          "action",
          "verified"
        ],
        "type": "object"
      }
    },
    "securitySchemes": {
      "viewerToken": {
        "scheme": "bearer",
        "type": "http"
      }
    }
  },
  "info": {
    "description": "The data of each page of `station line serve`, read-only. With a viewer token every request needs `Authorization: Bearer TOKEN`.",
    "title": "Station dashboard API",
    "version": "1"
  },
  "openapi": "3.1.0",
  "paths": {
    "/api/devices/{id}": {
      "get": {
        "operationId": "device",
        "parameters": [
          {
            "in": "path",
            "name": "id",
            "required": true,
            "schema": {
              "type": "string"
            }
          }
        ],
        "responses": {
          "200": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Device"
                }
              }
            },
            "description": "OK"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        },
        "summary": "One device's history across stations and attempts (never its mobile secret)."
      }
    },
    "/api/failures": {
      "get": {
        "operationId": "failures",
        "parameters": [
          {
            "description": "The time range (default 12h, in the server's time zone); anything else is the default.",
            "in": "query",
            "name": "range",
            "required": false,
            "schema": {
              "enum": [
                "1h",
                "12h",
                "24h",
                "7d",
                "30d"
              ],
              "type": "string"
            }
          },
          {
            "in": "query",
            "name": "station",
            "required": false,
            "schema": {
              "type": "string"
            }
          }
        ],
        "responses": {
          "200": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/FailuresView"
                }
              }
            },
            "description": "OK"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        },
        "summary": "Failures by code with their attempts, of one station or all."
      }
    },
    "/api/line": {
      "get": {
        "operationId": "line",
        "parameters": [
          {
            "description": "The time range (default 12h, in the server's time zone); anything else is the default.",
            "in": "query",
            "name": "range",
            "required": false,
            "schema": {
              "enum": [
                "1h",
                "12h",
                "24h",
                "7d",
                "30d"
              ],
              "type": "string"
            }
          }
        ],
        "responses": {
          "200": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Overview"
                }
              }
            },
            "description": "OK"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        },
        "summary": "The line now: totals, stations, failures by code, yield per 15 minutes."
      }
    },
    "/api/search": {
      "get": {
        "operationId": "search",
        "parameters": [
          {
            "in": "query",
            "name": "q",
            "required": true,
            "schema": {
              "type": "string"
            }
          }
        ],
        "responses": {
          "200": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Found"
                }
              }
            },
            "description": "OK"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        },
        "summary": "The device a device ID, serial number, ICCID or IMEI names."
      }
    },
    "/api/stations/{id}": {
      "get": {
        "operationId": "station",
        "parameters": [
          {
            "in": "path",
            "name": "id",
            "required": true,
            "schema": {
              "type": "string"
            }
          },
          {
            "description": "The time range (default 12h, in the server's time zone); anything else is the default.",
            "in": "query",
            "name": "range",
            "required": false,
            "schema": {
              "enum": [
                "1h",
                "12h",
                "24h",
                "7d",
                "30d"
              ],
              "type": "string"
            }
          }
        ],
        "responses": {
          "200": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/StationView"
                }
              }
            },
            "description": "OK"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        },
        "summary": "One station over the range."
      }
    }
  },
  "security": [
    {},
    {
      "viewerToken": []
    }
  ],
  "servers": [
    {
      "url": "/"
    }
  ]
}
"""#
}
