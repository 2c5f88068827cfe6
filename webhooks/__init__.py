"""Outgoing webhooks: catalog and order events POSTed to registered URLs, signed (Standard
Webhooks), recorded in the writing transaction and delivered by Django's task framework.

The design and its guarantees are in docs/webhooks.md.
"""
