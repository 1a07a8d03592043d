"""Answering: retrieval, evidence, the local model, citations, chat history, the Python API."""
from .api import DECLINE_TEXT, QA, ask, ask_stream, default_qa
from .config import Filters, Settings
from .records import Answer, Citation, Hit, answer_json
from .validate import BadQuestion, bound_history, check_input, check_k, check_question, parse_history

__all__ = ["QA", "ask", "ask_stream", "default_qa", "Settings", "Filters", "Answer", "Citation", "Hit", "answer_json", "DECLINE_TEXT",
           "BadQuestion", "check_question", "bound_history", "check_input", "check_k", "parse_history"]
